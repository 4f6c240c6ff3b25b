# Experiment grid and helpers: which networks run on which data set, seeds, noise levels.
# Everything here is derived from the validated config and config/networks.yaml.

import json
from pathlib import Path

# sparse_pkg is importable from this checkout (the Snakefile puts it on sys.path); `refuse`
# (imported there) stops with one line naming the config key or file at fault.
from sparse_pkg.errors import InputError
from sparse_pkg.network_definitions import load_network_definitions

DATA = config.get("data_dir", "data")
RESULTS = config.get("results_dir", "results")
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
COMPUTE = config.get("compute", {})
EVALUATE_PER = COMPUTE.get("evaluate_per", "level")
PROTOCOLS = config.get("protocols", ["paper", "final"])
SEEDS = [config.get("seed_base", 42) + i for i in range(config["seeds"])]
REPO = Path(workflow.basedir).parent
SCRIPTS = str(REPO / "scripts")
ENV = "../../envs/sparse.yaml"

# Scripts import sparse_pkg from this checkout, in the project's venv or a rule's conda env.
shell.prefix(f"export PYTHONPATH='{REPO}'${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")


def level_key(level):
    """File-name form of a noise level: 0.0 -> '0', 0.05 -> '0.05'."""
    return format(float(level), "g")


LEVELS = [level_key(x) for x in config["noise_levels"]]
if len(set(LEVELS)) != len(LEVELS):
    refuse("config key noise_levels: levels must be distinct")

try:
    DEFINITIONS = load_network_definitions(config.get("networks_file", "config/networks.yaml"))
except InputError as exc:
    refuse(str(exc))


def networks_of(dataset):
    """Network names of a data set selected by the config (validated against networks_file)."""
    section = config[dataset]
    if not section["enabled"]:
        return []
    known = DEFINITIONS.get(dataset, {})
    chosen = section.get("networks", "all")
    if chosen == "all":
        return list(known)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        refuse(
            f"config key {dataset}.networks: unknown network(s) {', '.join(unknown)} "
            f"(defined in {config.get('networks_file', 'config/networks.yaml')}: "
            f"{', '.join(known)})"
        )
    return list(chosen)


DATASETS = [d for d in ("mnist", "gsc") if networks_of(d)]


def definition_json(wildcards):
    """The network's definition as a param: editing one network reruns only its jobs."""
    return json.dumps(DEFINITIONS[wildcards.dataset][wildcards.network].to_dict(), sort_keys=True)


def run_dir(dataset, network, seed):
    return f"{RESULTS}/runs/{dataset}/{network}/seed_{seed}"


def gpu_resources():
    gpus = int(COMPUTE.get("gpus_per_job", 0))
    return {"gpu": gpus} if gpus > 0 else {}


def eval_outputs(dataset):
    return [
        f"{run_dir(dataset, n, s)}/eval/level_{lv}.parquet"
        for n in networks_of(dataset)
        for s in SEEDS
        for lv in LEVELS
    ]


def history_outputs(dataset):
    return [f"{run_dir(dataset, n, s)}/history.parquet" for n in networks_of(dataset) for s in SEEDS]


def background_outputs():
    if "gsc" not in DATASETS or not config["gsc"].get("background_noise", True):
        return []
    return [f"{run_dir('gsc', n, s)}/eval/background.parquet" for n in networks_of("gsc") for s in SEEDS]


def final_targets():
    targets = [
        f"{RESULTS}/metrics.parquet",
        f"{RESULTS}/history.parquet",
        f"{RESULTS}/table3.md",
        f"{RESULTS}/fig2.png",
        f"{RESULTS}/fig2.pdf",
        f"{RESULTS}/fig2.csv",
    ]
    if "mnist" in DATASETS:
        targets += [f"{RESULTS}/table1.md", f"{RESULTS}/fig4.png", f"{RESULTS}/fig4.pdf"]
    if "gsc" in DATASETS:
        targets += [f"{RESULTS}/table2.md", f"{RESULTS}/gsc_noise.png", f"{RESULTS}/gsc_noise.pdf"]
    return targets


MNIST = config["mnist"]
GSC = config["gsc"]


def mnist_idx_dir():
    if MNIST["source"] == "download":
        return f"{DATA}/mnist/raw"
    if MNIST["source"] == "directory":
        if not MNIST.get("directory"):
            refuse("config key mnist.directory: required with mnist.source: directory")
        return MNIST["directory"]
    return None


def gsc_archive():
    if GSC["source"] == "synthetic":
        return rules.gsc_synthetic_archive.output[0]
    if GSC["source"] == "download":
        return rules.gsc_download.output[0]
    if not GSC.get("archive"):
        refuse("config key gsc.archive: required with gsc.source: archive")
    return GSC["archive"]


def train_inputs(wildcards):
    d = wildcards.dataset
    inputs = {"train": f"{DATA}/{d}/train.pt", "test": f"{DATA}/{d}/test.pt"}
    if d == "gsc":
        inputs["validation"] = f"{DATA}/gsc/validation.pt"
    return inputs


def train_options(wildcards):
    section = config[wildcards.dataset]
    options = []
    if wildcards.dataset == "gsc":
        options += [f"--validation {DATA}/gsc/validation.pt",
                    f"--sampling {section.get('sampling', 'balanced')}"]
    if section.get("max_epochs"):
        options.append(f"--max-epochs {section['max_epochs']}")
    if section.get("max_train_samples"):
        options.append(f"--max-train-samples {section['max_train_samples']}")
    if COMPUTE.get("on_missing_gpu") == "error":
        options.append("--gpu-required")
    return " ".join(options)


def checkpoints_of(wildcards):
    run = run_dir(wildcards.dataset, wildcards.network, wildcards.seed)
    return [f"{run}/{protocol}.pt" for protocol in PROTOCOLS]


FIGURE_PROTOCOL = "paper" if "paper" in PROTOCOLS else PROTOCOLS[0]
FIG4_LEVELS = [lv for lv in LEVELS if lv in {"0", "0.1", "0.2", "0.3", "0.4", "0.5"}]


def source_line(dataset):
    """Header line of a results table: data source, seeds, epochs, label."""
    section = config[dataset]
    if dataset == "mnist":
        source = {"embedded": "embedded real MNIST subset (5,000 digits, demo split)",
                  "download": "full MNIST (downloaded)",
                  "directory": "full MNIST (local IDX files)"}[section["source"]]
    else:
        source = {"synthetic": "synthetic Speech Commands (demo generator, not real speech)",
                  "download": "Speech Commands v0.01 (downloaded)",
                  "archive": "Speech Commands v0.01 (local archive)"}[section["source"]]
    epochs = (f"epochs capped at {section['max_epochs']}" if section.get("max_epochs")
              else "paper epochs")
    cap = (f", training set capped at {section['max_train_samples']}"
           if section.get("max_train_samples") else "")
    seeds = f"seeds {SEEDS[0]}–{SEEDS[-1]}" if len(SEEDS) > 1 else f"seed {SEEDS[0]}"
    return f"{config['run_label']} run · data: {source} · {seeds} · {epochs}{cap}"
