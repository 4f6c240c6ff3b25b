# Experiment grid and helpers: which networks run on which data set, seeds, noise levels.
# Everything here is derived from the validated config and config/networks.yaml.

import json
import os
import shlex
from pathlib import Path

# sparse_pkg is installed (the Snakefile checks its version); `refuse` (imported there) stops
# with one line naming the config key or file at fault.
from sparse_pkg.code_fingerprint import command_fingerprint
from sparse_pkg.config_check import load_schema, resolve_config_file
from sparse_pkg.datasets import registry, sources
from sparse_pkg.datasets.gsc_directory import directory_fingerprint
from sparse_pkg.errors import InputError
from sparse_pkg.io.archive import archive_header_problem
from sparse_pkg.io.atomic import write_if_changed
from sparse_pkg.io.sidecar import sidecar_path
from sparse_pkg.networks_file import load_networks
from sparse_pkg.noise import level_name
from sparse_pkg.own_models import check_model
from sparse_pkg.sweeps import Sweep, sweep_definitions
from sparse_pkg.user_modules import import_user_module, source_fingerprint
from sparse_pkg.provenance import (
    COMMIT_VARIABLE,
    NOT_GIT,
    config_sha256,
    file_sha256,
    git_commit,
)
from sparse_pkg.reporting.paper_layout import TABLE_NUMBERS, figure4_levels
from sparse_pkg.reporting.run_label import source_line as run_source_line

# The Snakefile's validate() has filled in every default of the schema: no fallbacks here.
DATA = config["data_dir"]
RESULTS = config["results_dir"]
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
COMPUTE = config["compute"]
EVALUATE_PER = COMPUTE["evaluate_per"]
PROTOCOLS = config["protocols"]
COMPARE = bool(config["compare"]["a"])  # two folders side by side (rule compare)
SEEDS = [config["seed_base"] + i for i in range(config["seeds"])]
ENV = "../../envs/sparse.yaml"

# What made the results (results/provenance.json): the commit of this workflow's source and the
# hash of the runtime lock beside the workflow (the config's hash follows the files it names).
COMMIT = git_commit(WORKFLOW_DIR) if WORKFLOW_DIR else NOT_GIT
LOCK_SHA256 = file_sha256(workflow_file("../requirements/runtime.txt"))

# Jobs run the installed commands, `python -P -m sparse_pkg.commands.NAME` (-P: nothing of the
# working folder shadows the package). Every job learns the workflow's commit from its
# environment, for the provenance of its rows: Snakemake does not record the shell prefix, so a
# new commit alone reruns no job (the code fingerprint below decides what reruns).
shell.prefix(f"export {COMMIT_VARIABLE}='{COMMIT}'; ")


def code(command):
    """Fingerprint of the library code a command runs (sparse_pkg.code_fingerprint), given to
    its rules as a param: a change that can change numbers reruns exactly those jobs, a comment
    or docstring edit reruns nothing."""
    return command_fingerprint(command)


def level_key(level):
    """File-name form of a noise level, exact and without exponent (sparse_pkg.noise.level_name):
    0.0 -> '0', 0.05 -> '0.05', 1e-05 -> '0.00001'."""
    return level_name(level)


def sidecar(path):
    """The checksum file a producer writes beside a prepared data set (X.sha256)."""
    return str(sidecar_path(path))


def checked(path):
    """Stamp written by verify_data once the data set matched its checksum (consumers need it)."""
    return f"{path}.verified"


LEVELS = [level_key(x) for x in config["noise_levels"]]
if len(set(LEVELS)) != len(LEVELS):
    refuse("config key noise_levels: levels must be distinct")

# A relative networks_file is read from the working folder when it exists there, else from this
# repository (so the default works with --directory elsewhere); every rule reads the result.
# The loader checks it against sparse_pkg/schemas/networks.schema.yaml (package data, so scripts
# and an installed package find it too) and stops with one line, as for config.yaml.
config["networks_file"] = resolve_config_file(config["networks_file"], workflow_file)
# The jobs read the definitions from one stable path, RESULTS/networks.yaml: every network of the
# configured file with all its keys spelled out, then those of the sweeps (rewritten only when
# its content differs). Snakemake records params, so a
# param naming the configured path reran every training when the path was spelled differently
# (./config/networks.yaml, an identical copy, --directory elsewhere). What a run depends on is
# its definition's content: the train rule's `definition` param (editing one network reruns
# only its jobs).
NETWORKS_FILE = os.path.normpath(config["networks_file"])
NETWORKS_SHA256 = file_sha256(NETWORKS_FILE)
NETWORKS_COPY = f"{RESULTS}/networks.yaml"  # with the results it makes
# The claims file is an input of rule claims, named relative to the working folder (Snakemake
# records the set of input files: an absolute path would rerun it in a moved project).
CLAIMS_FILE = os.path.relpath(resolve_config_file(config["claims_file"], workflow_file))
# The config as hashed for provenance: the files it names by their content, not their path;
# without `compare`, which reads results but makes none (setting it reruns only rule compare).
CONFIG_SHA256 = config_sha256(
    {
        **{key: value for key, value in config.items() if key != "compare"},
        "networks_file": NETWORKS_SHA256,
        "claims_file": file_sha256(CLAIMS_FILE),
    }
)
# Data sets of your own (config key datasets): each a module, imported and registered before
# the networks file is read (their networks are built for its input geometry). Their config
# entries with the schema's defaults filled in (the validator leaves entries of a mapping
# alone), beside the built-in data sets' sections: `section(name)` for any data set.
PLUGIN_DEFAULTS = {
    key: rule["default"]
    for key, rule in load_schema(workflow_file("schemas/config.schema.yaml"))[
        "properties"
    ]["datasets"]["additionalProperties"]["properties"].items()
    if "default" in rule
}
PLUGINS = {
    name: {**PLUGIN_DEFAULTS, **entry} for name, entry in config["datasets"].items()
}


def section(dataset):
    """The config section of a data set: a built-in one's (config["mnist"]), or its entry under
    datasets."""
    return PLUGINS[dataset] if dataset in PLUGINS else config[dataset]


try:
    for _name, _entry in PLUGINS.items():
        registry.load_plugin(_name, _entry["module"])
except InputError as exc:
    refuse(str(exc))
# Sparsity sweeps (config key sweeps, sparse_pkg.sweeps): the networks of their grids join
# the definitions, each with its sweep's seeds.
try:
    SWEEPS = {
        name: Sweep.from_config(name, entry) for name, entry in config["sweeps"].items()
    }
    DEFINITIONS = load_networks(config["networks_file"])
    for _sweep in SWEEPS.values():
        if _sweep.dataset not in registry.names():
            refuse(
                f"config key sweeps.{_sweep.name}.dataset: unknown data set "
                f"'{_sweep.dataset}' (known: {', '.join(registry.names())})"
            )
        if not section(_sweep.dataset)["enabled"]:
            refuse(
                f"config key sweeps.{_sweep.name}.dataset: {_sweep.dataset} is disabled "
                f"({_sweep.dataset}.enabled: false); enable it or remove the sweep"
            )
        DEFINITIONS = DEFINITIONS.extended(sweep_definitions(_sweep, DEFINITIONS))
except InputError as exc:
    refuse(str(exc))


def networks_of(dataset):
    """Network names of a data set selected by the config (validated against networks_file)."""
    chosen_section = section(dataset)
    if not chosen_section["enabled"]:
        return []
    known = [d.name for d in DEFINITIONS.of(dataset) if d.sweep is None]
    swept = [d.name for d in DEFINITIONS.of(dataset) if d.sweep is not None]
    chosen = chosen_section["networks"]
    if chosen == "all":
        return known + swept
    unknown = [n for n in chosen if n not in known]
    if unknown:
        refuse(
            f"config key {dataset}.networks: unknown network(s) {', '.join(unknown)} "
            f"(defined in {config['networks_file']}: "
            f"{', '.join(known)})"
        )
    return list(chosen) + swept


def sweep_seeds(sweep):
    """The seeds of a sweep's networks: its own count from seed_base, else the config's."""
    count = SWEEPS[sweep].seeds
    return [config["seed_base"] + i for i in range(count)] if count else SEEDS


# The seeds of each network: the config's, or its sweep's.
SEEDS_OF = {
    (d.dataset, d.name): SEEDS if d.sweep is None else sweep_seeds(d.sweep)
    for d in DEFINITIONS
}


def seeds_of(dataset, network):
    return SEEDS_OF[(dataset, network)]


DATASETS = [d for d in registry.names() if networks_of(d)]

# A network of your own (`model: package.module:Class`) is imported and its constructor's
# arguments checked before any job starts (sparse_pkg.own_models), one line on a problem.
for _dataset in DATASETS:
    for _definition in DEFINITIONS.of(_dataset):
        if _definition.model and _definition.name in networks_of(_dataset):
            try:
                check_model(_definition)
            except InputError as exc:
                refuse(f"{config['networks_file']}: {exc}")

# Every definition, the sweeps' included, as the jobs read them (checked above).
write_if_changed(NETWORKS_COPY, DEFINITIONS.to_yaml().encode("utf-8"))
DEFINITIONS_SHA256 = file_sha256(NETWORKS_COPY)


_USER_CODE = {}  # the code fingerprint of each module of the user's own, computed once


def user_code(module_name):
    """The code fingerprint of a module of the user's own (a model's, a data set's), a param
    of the rules that use it (sparse_pkg.user_modules): editing it reruns their jobs."""
    if module_name not in _USER_CODE:
        _USER_CODE[module_name] = source_fingerprint(import_user_module(module_name))
    return _USER_CODE[module_name]


def definition_json(wildcards):
    """The network's definition as a param: editing one network reruns only its jobs. For a
    network of your own it includes a fingerprint of its module's code, so editing the class
    reruns its jobs too."""
    definition = DEFINITIONS.get(wildcards.dataset, wildcards.network)
    data = definition.to_dict()
    if definition.model:
        data["model_code"] = user_code(definition.model.partition(":")[0])
    return json.dumps(data, sort_keys=True)


def run_dir(dataset, network, seed):
    return f"{RESULTS}/runs/{dataset}/{network}/seed_{seed}"


# A GPU's capacity in `gpu_milli` (thousandths of a GPU): `--resources gpu_milli=1000` per GPU.
GPU_MILLI = 1000


def gpu_resources():
    """Resources of a job that computes on the GPU (train, evaluate); none on a CPU run.

    `gpu`: whole GPUs, compute.gpus_per_job (what SLURM's --gpus asks for; locally
    `--resources gpu=K` runs K such jobs at once). `gpu_milli`: the job's share of a GPU,
    1000 // compute.jobs_per_gpu per GPU, so that `--resources gpu_milli=1000` lets exactly
    jobs_per_gpu jobs share one GPU (the schema caps jobs_per_gpu where that stays exact).
    """
    gpus = COMPUTE["gpus_per_job"]
    if gpus <= 0:
        return {}
    share = GPU_MILLI // COMPUTE["jobs_per_gpu"]
    return {"gpu": gpus, "gpu_milli": gpus * share}


def run_outputs(dataset, name):
    """The file ``name`` of every run of a data set (history.parquet, timing.parquet)."""
    return [
        f"{run_dir(dataset, n, s)}/{name}"
        for n in networks_of(dataset)
        for s in seeds_of(dataset, n)
    ]


# Data sets whose runs are also scored on the background-noise test set (GSC only).
BACKGROUND_DATASETS = [
    d
    for d in DATASETS
    if "background" in registry.info(d).extra_tests and section(d)["background_noise"]
]


def background_outputs():
    return [
        p
        for d in BACKGROUND_DATASETS
        for p in run_outputs(d, "eval/background.parquet")
    ]


# Stacking the result tables (rules aggregate_run, aggregate): the aggregate command's options.
KINDS = ("eval", "history", "timing", "background")


def tables_in(folder):
    """The four stacked tables in ``folder``, by kind (the outputs of both stages)."""
    names = {
        "metrics": "metrics",
        "history": "history",
        "timing": "timing",
        "background": "background_noise",
    }
    return {kind: f"{folder}/{name}.parquet" for kind, name in names.items()}


def run_tables(dataset, network, seed):
    """A run's own stacked tables, in its folder (rule aggregate_run)."""
    return tables_in(f"{run_dir(dataset, network, seed)}/tables")


def files_by_kind(wildcards, input):
    """Each input file under the option of its kind: --eval A --eval B --history C ..."""
    return " ".join(f"--{kind} {path}" for kind in KINDS for path in input[kind])


def run_files(wildcards):
    """One run's files by kind: its level files (rows of every protocol), history, timing and
    background-noise scores (where the run has them)."""
    run = run_dir(wildcards.dataset, wildcards.network, wildcards.seed)
    scored_on_background = wildcards.dataset in BACKGROUND_DATASETS
    return {
        "eval": [f"{run}/eval/level_{lv}.parquet" for lv in LEVELS],
        "history": [f"{run}/history.parquet"],
        "timing": [f"{run}/timing.parquet"],
        "background": (
            [f"{run}/eval/background.parquet"] if scored_on_background else []
        ),
    }


def every_run_table(kind):
    """Each run's stacked table of ``kind`` (background: of the runs scored on it)."""
    datasets = BACKGROUND_DATASETS if kind == "background" else DATASETS
    return [
        run_tables(d, n, s)[kind]
        for d in datasets
        for n in networks_of(d)
        for s in seeds_of(d, n)
    ]


def final_targets():
    targets = [
        f"{RESULTS}/metrics.parquet",
        f"{RESULTS}/history.parquet",
        f"{RESULTS}/table3.md",
        f"{RESULTS}/table3.html",
        f"{RESULTS}/provenance.json",
        f"{RESULTS}/provenance.html",
        f"{RESULTS}/fig2.png",
        f"{RESULTS}/fig2.pdf",
        f"{RESULTS}/fig2.csv",
        f"{RESULTS}/claims.md",
        f"{RESULTS}/claims.html",
        f"{RESULTS}/claims.csv",
    ]
    if "mnist" in DATASETS:
        targets += [
            f"{RESULTS}/table{TABLE_NUMBERS['mnist']}.md",
            f"{RESULTS}/table{TABLE_NUMBERS['mnist']}.html",
            f"{RESULTS}/fig4.png",
            f"{RESULTS}/fig4.pdf",
        ]
    if "gsc" in DATASETS:
        targets += [
            f"{RESULTS}/table{TABLE_NUMBERS['gsc']}.md",
            f"{RESULTS}/table{TABLE_NUMBERS['gsc']}.html",
            f"{RESULTS}/gsc_noise.png",
            f"{RESULTS}/gsc_noise.pdf",
        ]
    for dataset in DATASETS:
        if registry.is_plugin(dataset):  # its table and noise curves (rules plugin_*)
            targets += [
                f"{RESULTS}/table_{dataset}.{ext}" for ext in ("md", "html")
            ] + [f"{RESULTS}/{dataset}_noise.{ext}" for ext in ("png", "pdf")]
    if COMPARE:
        targets += [f"{RESULTS}/compare.md", f"{RESULTS}/compare.html"]
    for sweep in SWEEPS:
        targets += [
            f"{RESULTS}/sweeps/{sweep}.{ext}"
            for ext in ("md", "html", "png", "pdf", "csv")
        ]
    return targets + prepared_sets() + run_targets()


MNIST = config["mnist"]
GSC = config["gsc"]


def mnist_idx_dir():
    if MNIST["source"] == "download":
        return f"{DATA}/mnist/raw"
    if MNIST["source"] == "directory":
        if not MNIST["directory"]:
            refuse("config key mnist.directory: required with mnist.source: directory")
        return MNIST["directory"]
    return None


def gsc_archive():
    if GSC["source"] == "synthetic":
        return rules.gsc_synthetic_archive.output[0]
    if GSC["source"] == "download":
        return rules.gsc_download.output[0]
    if not GSC["archive"]:
        refuse("config key gsc.archive: required with gsc.source: archive")
    # A wrong file (a typo, a web page saved as .tar.gz) is refused before any job starts.
    if "gsc" in DATASETS and (problem := archive_header_problem(GSC["archive"])):
        refuse(
            f"config key gsc.archive: {GSC['archive']}: {problem}; point it at "
            f"{sources.GSC_ARCHIVE}"
        )
    return GSC["archive"]


def gsc_archive_check():
    """The --sha256 option of the extraction: the official digest, the user's own
    (gsc.sha256), or none (gsc.allow_unofficial_archive); downloads and synthetic archives
    are checked where they are made."""
    if GSC["source"] != "archive":
        return ""
    if GSC["sha256"]:
        return f"--sha256 {GSC['sha256']}"
    if GSC["allow_unofficial_archive"]:
        return ""
    return f"--sha256 {sources.GSC_SHA256}"


def gsc_data_source():
    """What the Speech Commands data is, for provenance.json (one line)."""
    source = GSC["source"]
    if not GSC["enabled"]:
        return "not used"
    if source == "directory":
        return f"your own extracted copy: {GSC['directory']}"
    if source == "archive":
        if GSC["sha256"]:
            return f"your own archive {GSC['archive']}, SHA-256 {GSC['sha256']} (not the official)"
        if GSC["allow_unofficial_archive"]:
            return f"an archive not checked against any SHA-256: {GSC['archive']} (unofficial)"
        return f"the official archive (SHA-256 verified): {GSC['archive']}"
    if source == "download":
        return "the official archive, downloaded (SHA-256 verified)"
    return "synthetic (demo generator, not real speech)"


def mnist_data_source():
    """What the MNIST data is, for provenance.json (one line)."""
    if not MNIST["enabled"]:
        return "not used"
    return {
        "embedded": "embedded in the package: 5,000 training digits, the official test set",
        "download": "the official files, downloaded (MD5 verified)",
        "directory": f"local IDX files (MD5 verified): {MNIST['directory']}",
    }[MNIST["source"]]


def plugin_data_source(dataset):
    """What a data set of your own is, for provenance.json (one line)."""
    facts = registry.info(dataset)
    if not section(dataset)["enabled"]:
        return "not used"
    check = (
        f"raw data SHA-256 {facts.sha256} (checked)"
        if facts.sha256
        else "no SHA-256 declared (unchecked)"
    )
    return f"{facts.source} (module {section(dataset)['module']}); {check}"


def data_sources():
    """The provenance command's --data options, shell-quoted."""
    sources_by_name = [("mnist", mnist_data_source()), ("gsc", gsc_data_source())]
    sources_by_name += [(name, plugin_data_source(name)) for name in PLUGINS]
    return " ".join(
        f"--data {shlex.quote(f'{name}={text}')}" for name, text in sources_by_name
    )


def gsc_root():
    """The folder the feature steps read the clips from: the extraction's, or the user's own
    extracted copy (gsc.source: directory), used in place."""
    if GSC["source"] == "directory":
        if not GSC["directory"]:
            refuse("config key gsc.directory: required with gsc.source: directory")
        return GSC["directory"]
    return rules.gsc_extract.output.clips


def gsc_manifest():
    if GSC["source"] == "directory":
        return rules.gsc_index.output.manifest
    return rules.gsc_extract.output.manifest


def train_inputs(wildcards):
    """The sets training reads, and their verify_data stamps (a damaged set stops the run there,
    before this job starts)."""
    d = wildcards.dataset
    inputs = {"train": f"{DATA}/{d}/train.pt", "test": f"{DATA}/{d}/test.pt"}
    if registry.info(d).validation:
        inputs["validation"] = f"{DATA}/{d}/validation.pt"
    inputs["checked"] = [checked(p) for p in list(inputs.values())]
    return inputs


def noisy_sets(dataset):
    """The noisy test sets of a data set, one per configured level."""
    return [f"{DATA}/{dataset}/noisy/level_{lv}.pt" for lv in LEVELS]


def run_targets():
    """Every run's checkpoints, history, timing and evaluation tables, all targets of `all`:
    as intermediates, a deleted one was never rebuilt ("Nothing to be done" after
    `rm -r results/runs`) and a damaged checkpoint could not be replaced by a plain rerun.
    """
    files = []
    for dataset in DATASETS:
        for network in networks_of(dataset):
            for seed in seeds_of(dataset, network):
                run = run_dir(dataset, network, seed)
                files += [f"{run}/{p}.pt" for p in PROTOCOLS]
                files += [f"{run}/history.parquet", f"{run}/timing.parquet"]
                files += [f"{run}/eval/level_{lv}.parquet" for lv in LEVELS]
                if dataset in BACKGROUND_DATASETS:
                    files.append(f"{run}/eval/background.parquet")
    return files


def prepared_sets():
    """Every prepared tensor set of the run, all targets of `all`, so that Snakemake rebuilds a
    deleted one (and reruns only the jobs that read it) instead of treating it as an
    intermediate it may skip (when `all` asked only for results, `rm X` had nothing to do).
    """
    sets = []
    for dataset in DATASETS:
        sets += [
            f"{DATA}/{dataset}/train.pt",
            f"{DATA}/{dataset}/test.pt",
            *noisy_sets(dataset),
        ]
        if registry.info(dataset).validation:
            sets.append(f"{DATA}/{dataset}/validation.pt")
    sets += [f"{DATA}/{dataset}/background.pt" for dataset in BACKGROUND_DATASETS]
    return sets


def train_options(wildcards):
    d = wildcards.dataset
    settings = section(d)
    options = []
    if registry.info(d).validation:
        options.append(f"--validation {DATA}/{d}/validation.pt")
    if "sampling" in settings:  # MNIST's section has none: shuffle
        options.append(f"--sampling {settings['sampling']}")
    if settings["max_epochs"]:
        options.append(f"--max-epochs {settings['max_epochs']}")
    if settings["max_train_samples"]:
        options.append(f"--max-train-samples {settings['max_train_samples']}")
    if COMPUTE["on_missing_gpu"] == "error":
        options.append("--gpu-required")
    if COMPUTE["channels_last"]:  # only when on: default params, and results, unchanged
        options.append("--channels-last")
    return " ".join(options)


def checkpoints_of(wildcards):
    run = run_dir(wildcards.dataset, wildcards.network, wildcards.seed)
    return [f"{run}/{protocol}.pt" for protocol in PROTOCOLS]


FIGURE_PROTOCOL = "paper" if "paper" in PROTOCOLS else PROTOCOLS[0]
# The noisy sets whose first digit Figure 4A shows (the paper's choice, not a setting).
FIG4_LEVELS = [level_key(x) for x in figure4_levels(config["noise_levels"])]


def source_line(dataset, sweep=None):
    """Header line of a results table and footer of a figure (sparse_pkg.reporting.run_label);
    with ``sweep``, the seeds are that sweep's."""
    settings = section(dataset)
    seeds = SEEDS if sweep is None else sweep_seeds(sweep)
    source = settings.get("source")
    if dataset == "gsc" and source == "archive":
        if settings["sha256"] or settings["allow_unofficial_archive"]:
            source = "archive_unofficial"
    return run_source_line(
        config["run_label"],
        dataset,
        source,
        seeds,
        settings["max_epochs"],
        settings["max_train_samples"],
        data=registry.info(dataset).source if registry.is_plugin(dataset) else None,
    )


def compared_files(side):
    """The files of config key compare.<side> that the comparison reads, this run's own (made
    by its rules) or another finished run's (which must be there)."""
    folder = config["compare"][side]
    if os.path.normpath(folder) == os.path.normpath(RESULTS):
        return [
            f"{RESULTS}/{name}"
            for name in ("metrics.parquet", "claims.csv", "provenance.json")
        ]
    metrics = f"{folder}/metrics.parquet"
    if not os.path.isfile(metrics):
        refuse(
            f"config key compare.{side}: {metrics} is missing; name a results folder of a "
            "finished run (or this run's results_dir)"
        )
    optional = [f"{folder}/{name}" for name in ("claims.csv", "provenance.json")]
    return [metrics] + [path for path in optional if os.path.isfile(path)]
