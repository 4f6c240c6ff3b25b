#!/usr/bin/env bash
# One call on a CUDA machine: the GPU tier (tests/gpu) and the full paper's projected cost on
# that GPU with 1, 2 and 4 jobs sharing it (benchmarks/paper_cost.py), in under 8 minutes, and a
# short report of both. Needs the project's venv (make test installs it; the device machine
# has no network, so it must travel with the tree or be there already).
#
#   bash benchmarks/device_check.sh [--dry-run] [--out DIR]
#
# --dry-run prints every step it would run and checks that its files exist (works on a CPU-only
# machine). --out DIR (default: $OUT when set, else device-check/) receives device.txt,
# gpu_tier.txt, paper_cost.txt and report.md. The exit status is that of the GPU tier.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
out=${OUT:-device-check}
dry=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry=1 ;;
        --out) out=$2; shift ;;
        *) echo "device_check.sh: unknown option $1 (use --dry-run, --out DIR)" >&2; exit 2 ;;
    esac
    shift
done

DEVICE_PROBE='import torch; print("torch", torch.__version__, "CUDA build", torch.version.cuda); print("device:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"); print("cuDNN", torch.backends.cudnn.version() if torch.cuda.is_available() else "-")'
steps=(
    "device|30|$PYTHON -c '$DEVICE_PROBE'"
    "gpu_tier|300|$PYTHON -m pytest -v -rs -p no:cacheprovider tests/gpu"
    "paper_cost|140|$PYTHON benchmarks/paper_cost.py --device cuda --concurrent 1,2,4 --max-batches 10 --max-eval-batches 2"
)

if [ "$dry" = 1 ]; then
    for file in "$PYTHON" tests/gpu/test_cuda.py benchmarks/paper_cost.py; do
        [ -e "$file" ] || { echo "device_check.sh: missing $file" >&2; exit 1; }
    done
    for step in "${steps[@]}"; do
        IFS='|' read -r name limit command <<< "$step"
        echo "would run ($name, at most $limit s): $command > $out/$name.txt"
    done
    echo "would write $out/report.md"
    exit 0
fi

mkdir -p "$out"
status=0
{
    echo "# Device check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
} > "$out/report.md"
for step in "${steps[@]}"; do
    IFS='|' read -r name limit command <<< "$step"
    start=$(date +%s)
    timeout -s KILL "$limit" bash -c "$command" > "$out/$name.txt" 2>&1
    code=$?
    [ "$name" = gpu_tier ] && status=$code
    {
        echo "## $name: exit $code after $(( $(date +%s) - start )) s"
        echo
        echo '```'
        tail -n 25 "$out/$name.txt"
        echo '```'
        echo
    } >> "$out/report.md"
done
cat "$out/report.md"
exit "$status"
