#!/usr/bin/env bash
# `make test-slurm`: start a throwaway SLURM cluster on loopback (tests/slurm/cluster.sh), run
# tests/slurm/test_slurm.py against it under a hard time limit, and stop every daemon it started,
# whatever happens. Needs root on Debian (it installs slurm-wlm and munge when missing);
# elsewhere it prints why it is skipped and succeeds.
set -uo pipefail
cd "$(dirname "$0")/../.."
LIMIT_S=${SLURM_TEST_LIMIT_S:-540}

if [ "$(id -u)" != 0 ] || ! grep -qi '^ID=debian' /etc/os-release 2>/dev/null; then
    echo "test-slurm skipped: it needs root on Debian (installs slurm-wlm and munge, starts daemons)"
    exit 0
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; } \
        || { echo "test-slurm: could not install slurm-wlm and munge" >&2; exit 1; }
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    echo "test-slurm: a slurmctld or slurmd already runs here (ports 6817/6818 are fixed)" >&2
    exit 1
fi

dir=$(mktemp -d /tmp/sparse-slurm.XXXXXX)
cleanup() { bash tests/slurm/cluster.sh stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$(date +%s)
bash tests/slurm/cluster.sh start "$dir" || exit 1
export SLURM_CONF="$dir/slurm.conf" PATH="$dir/bin:$PATH" SPARSE_SLURM_CLUSTER="$dir"
timeout -s KILL "$LIMIT_S" .venv/bin/python -m pytest tests/slurm -v -p no:cacheprovider
status=$?
[ "$status" = 137 ] && echo "test-slurm: killed after ${LIMIT_S} s" >&2
echo "test-slurm: $(( $(date +%s) - start )) s, exit status $status"
exit "$status"
