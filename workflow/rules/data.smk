# Data: MNIST and Speech Commands from their source to tensor sets and noisy test sets; a data
# set of your own (config key datasets) through its module, in two generic rules at the end.


# File names, checksums and official locations are facts of the data (sparse_pkg/datasets/
# sources.py); the config may name other mirrors (null: the official ones).
rule mnist_download:
    output:
        expand(f"{DATA}/mnist/raw/{{name}}", name=list(sources.MNIST_MD5)),
    log:
        f"{LOGS}/mnist_download.log",
    conda:
        ENV
    params:
        code=code("download"),  # library code run: a change reruns the job
        mirrors=" ".join(
            f"--mirror {m}" for m in MNIST["mirrors"] or sources.MNIST_MIRRORS
        ),
        out_dir=lambda w, output: str(Path(output[0]).parent),
    shell:
        "python -P -m sparse_pkg.commands.download mnist {params.mirrors} --out-dir {params.out_dir} "
        "2> {log}"


rule mnist_prepare:
    input:
        lambda w: rules.mnist_download.output if MNIST["source"] == "download" else [],
    output:
        train=f"{DATA}/mnist/train.pt",
        test=f"{DATA}/mnist/test.pt",
        sums=[sidecar(f"{DATA}/mnist/train.pt"), sidecar(f"{DATA}/mnist/test.pt")],
    log:
        f"{LOGS}/mnist_prepare.log",
    benchmark:
        f"{BENCH}/mnist_prepare.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,  # minutes
    params:
        code=code("prepare_mnist"),  # library code run: a change reruns the job
        source="embedded" if MNIST["source"] == "embedded" else "directory",
        idx_dir=lambda w: f"--idx-dir {mnist_idx_dir()}" if mnist_idx_dir() else "",
    shell:
        "python -P -m sparse_pkg.commands.prepare_mnist --source {params.source} {params.idx_dir} "
        "--train-out {output.train} --test-out {output.test} 2> {log}"


# One job per noise level: a new level or noise seed reruns only these and their evaluations.
rule mnist_noise:
    input:
        test=f"{DATA}/mnist/test.pt",
        checked=checked(f"{DATA}/mnist/test.pt"),
    output:
        noisy=f"{DATA}/mnist/noisy/level_{{level}}.pt",
        sum=sidecar(f"{DATA}/mnist/noisy/level_{{level}}.pt"),
    log:
        f"{LOGS}/mnist_noise/level_{{level}}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,  # minutes
    params:
        code=code("mnist_noise"),  # library code run: a change reruns the job
        noise_seed=MNIST["noise_seed"],
    shell:
        "python -P -m sparse_pkg.commands.mnist_noise --test {input.test} "
        "--noise-level {wildcards.level} --noise-seed {params.noise_seed} "
        "--out {output.noisy} 2> {log}"


rule gsc_synthetic_archive:
    output:
        f"{DATA}/gsc/synthetic_speech_commands.tar.gz",
    log:
        f"{LOGS}/gsc_synthetic_archive.log",
    benchmark:
        f"{BENCH}/gsc_synthetic_archive.tsv"
    conda:
        ENV
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,  # minutes
    params:
        code=code("make_synthetic_gsc"),  # library code run: a change reruns the job
        speakers=GSC["synthetic"]["speakers"],
        utterances=GSC["synthetic"]["utterances_per_word"],
        seed=GSC["synthetic"]["seed"],
    shell:
        "python -P -m sparse_pkg.commands.make_synthetic_gsc --out {output} --speakers {params.speakers} "
        "--utterances-per-word {params.utterances} --seed {params.seed} 2> {log}"


rule gsc_download:
    output:
        f"{DATA}/gsc/{sources.GSC_ARCHIVE}",
    log:
        f"{LOGS}/gsc_download.log",
    conda:
        ENV
    params:
        code=code("download"),  # library code run: a change reruns the job
        url=GSC["url"] or sources.GSC_URL,
        sha256=sources.GSC_SHA256,
    shell:
        "python -P -m sparse_pkg.commands.download file --url {params.url} --sha256 {params.sha256} "
        "--out {output} --hint 'put the archive at {output}, or set config keys gsc.source: "
        "archive and gsc.archive: PATH' 2> {log}"


# The extraction itself lives in data/gsc/extracted (clips, manifest, sidecar), which is not a
# declared output: Snakemake deletes declared outputs before it reruns a job and after a job
# fails, and a failed extraction must keep the previous one. The script replaces that folder
# in one rename when everything succeeded, then hard-links (or copies) it to the outputs.
if GSC["source"] != "directory":

    rule gsc_extract:
        input:
            archive=gsc_archive(),
        output:
            clips=directory(f"{DATA}/gsc/clips"),
            manifest=f"{DATA}/gsc/manifest.parquet",
            skipped=f"{DATA}/gsc/manifest_skipped.json",
        log:
            f"{LOGS}/gsc_extract.log",
        benchmark:
            f"{BENCH}/gsc_extract.tsv"
        conda:
            ENV
        resources:
            mem_mb=lambda wc, attempt: 8000 * attempt,
            runtime=lambda wc, attempt: 120 * attempt,  # minutes
        params:
            code=code("extract_gsc"),  # library code run: a change reruns the job
            verify=gsc_archive_check(),
            key="--config-key gsc.archive" if GSC["source"] == "archive" else "",
            skip="--skip-bad" if GSC["skip_bad_wavs"] else "",
            store=f"{DATA}/gsc/extracted",
        shell:
            "python -P -m sparse_pkg.commands.extract_gsc --archive {input.archive} {params.verify} {params.key} "
            "--dest {output.clips} --manifest-out {output.manifest} "
            "--skipped-out {output.skipped} --store {params.store} {params.skip} 2> {log}"

else:

    # Your own extracted copy, used in place: checked (layout, words, lists, every clip read)
    # and indexed; the feature steps read the clips from it. Its listing's fingerprint is a
    # param, so a changed copy reruns what read it.
    rule gsc_index:
        output:
            manifest=f"{DATA}/gsc/manifest.parquet",
            skipped=f"{DATA}/gsc/manifest_skipped.json",
        log:
            f"{LOGS}/gsc_index.log",
        benchmark:
            f"{BENCH}/gsc_index.tsv"
        conda:
            ENV
        resources:
            mem_mb=lambda wc, attempt: 8000 * attempt,
            runtime=lambda wc, attempt: 120 * attempt,  # minutes
        params:
            code=code("index_gsc"),  # library code run: a change reruns the job
            listing=directory_fingerprint(GSC["directory"]) if GSC["directory"] else "",
            background=(
                "--background-noise"
                if GSC["background_noise"]
                else "--no-background-noise"
            ),
            skip="--skip-bad" if GSC["skip_bad_wavs"] else "",
            root=GSC["directory"],
        shell:
            "python -P -m sparse_pkg.commands.index_gsc --root {params.root:q} "
            "--manifest-out {output.manifest} --skipped-out {output.skipped} "
            "{params.background} {params.skip} 2> {log}"


rule gsc_eval_features:
    input:
        clips=gsc_root(),
        manifest=gsc_manifest(),
    output:
        validation=f"{DATA}/gsc/validation.pt",
        test=f"{DATA}/gsc/test.pt",
        sums=[sidecar(f"{DATA}/gsc/validation.pt"), sidecar(f"{DATA}/gsc/test.pt")],
    log:
        f"{LOGS}/gsc_eval_features.log",
    benchmark:
        f"{BENCH}/gsc_eval_features.tsv"
    conda:
        ENV
    threads: COMPUTE["prepare_threads"]
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,  # minutes
    params:
        code=code("gsc_features"),  # library code run: a change reruns the job
        device=COMPUTE["device"],
    shell:
        "python -P -m sparse_pkg.commands.gsc_features eval --manifest {input.manifest} "
        "--root {input.clips} --validation-out {output.validation} --test-out {output.test} "
        "--threads {threads} --device {params.device} 2> {log}"


# One job per white-noise level: a new level or noise seed reruns only these and their
# evaluations, never the sets training reads.
rule gsc_noise:
    input:
        clips=gsc_root(),
        manifest=gsc_manifest(),
    output:
        noisy=f"{DATA}/gsc/noisy/level_{{level}}.pt",
        sum=sidecar(f"{DATA}/gsc/noisy/level_{{level}}.pt"),
    log:
        f"{LOGS}/gsc_noise/level_{{level}}.log",
    benchmark:
        f"{BENCH}/gsc_noise/level_{{level}}.tsv"
    conda:
        ENV
    threads: COMPUTE["prepare_threads"]
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,  # minutes
    params:
        code=code("gsc_features"),  # library code run: a change reruns the job
        seed=GSC["noise_seed"],
        device=COMPUTE["device"],
    shell:
        "python -P -m sparse_pkg.commands.gsc_features noisy --manifest {input.manifest} "
        "--root {input.clips} --noise-level {wildcards.level} --noise-seed {params.seed} "
        "--out {output.noisy} --threads {threads} --device {params.device} 2> {log}"


rule gsc_background:
    input:
        clips=gsc_root(),
        manifest=gsc_manifest(),
    output:
        background=f"{DATA}/gsc/background.pt",
        sum=sidecar(f"{DATA}/gsc/background.pt"),
    log:
        f"{LOGS}/gsc_background.log",
    conda:
        ENV
    threads: COMPUTE["prepare_threads"]
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,  # minutes
    params:
        code=code("gsc_features"),  # library code run: a change reruns the job
        seed=GSC["noise_seed"],
        device=COMPUTE["device"],
    shell:
        "python -P -m sparse_pkg.commands.gsc_features background --manifest {input.manifest} "
        "--root {input.clips} --noise-seed {params.seed} --out {output.background} "
        "--threads {threads} --device {params.device} 2> {log}"


rule gsc_train_features:
    input:
        clips=gsc_root(),
        manifest=gsc_manifest(),
    output:
        train=f"{DATA}/gsc/train.pt",
        sum=sidecar(f"{DATA}/gsc/train.pt"),
    log:
        f"{LOGS}/gsc_train_features.log",
    benchmark:
        f"{BENCH}/gsc_train_features.tsv"
    conda:
        ENV
    threads: COMPUTE["prepare_threads"]
    resources:
        mem_mb=lambda wc, attempt: 24000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,  # minutes
    params:
        code=code("gsc_features"),  # library code run: a change reruns the job
        silence=GSC["silence_fraction"],
        copies=GSC["augmented_copies"],
        seed=GSC["augment_seed"],
        device=COMPUTE["device"],
    shell:
        "python -P -m sparse_pkg.commands.gsc_features train --manifest {input.manifest} "
        "--root {input.clips} --silence-fraction {params.silence} "
        "--augmented-copies {params.copies} --augment-seed {params.seed} --out {output.train} "
        "--threads {threads} --device {params.device} 2> {log}"


# Every prepared tensor set is checked against the checksum its producer recorded before any
# job reads it: a damaged file stops the run here, before a training or evaluation job with
# finished outputs could start on it (Snakemake deletes the outputs of a job that fails).
rule verify_data:
    input:
        data=f"{DATA}/{{prepared}}.pt",
        sum=sidecar(f"{DATA}/{{prepared}}.pt"),
    output:
        checked(f"{DATA}/{{prepared}}.pt"),
    log:
        f"{LOGS}/verify_data/{{prepared}}.log",
    wildcard_constraints:
        prepared=rf"({'|'.join(registry.names())})/(train|test|validation|background|noisy/level_[0-9.]+)",
    conda:
        ENV
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,  # minutes
    params:
        code=code("verify_data"),  # library code run: a change reruns the job
    shell:
        "python -P -m sparse_pkg.commands.verify_data {input.data} --out {output} 2> {log}"


# A data set of your own (config key datasets, sparse_pkg/datasets/registry.py): its module
# fetches the raw data (checked against the SHA-256 its INFO declares) and prepares the train
# and test sets; its noisy test sets come from its module too, one job per level.
if PLUGINS:

    rule dataset_prepare:
        output:
            train=f"{DATA}/{{dataset}}/train.pt",
            test=f"{DATA}/{{dataset}}/test.pt",
            sums=[
                sidecar(f"{DATA}/{{dataset}}/train.pt"),
                sidecar(f"{DATA}/{{dataset}}/test.pt"),
            ],
        log:
            f"{LOGS}/dataset_prepare/{{dataset}}.log",
        wildcard_constraints:
            dataset="|".join(PLUGINS),
        conda:
            ENV
        resources:
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 30 * attempt,  # minutes
        params:
            code=code("prepare_dataset"),  # library code run: a change reruns the job
            module=lambda w: section(w.dataset)["module"],
            module_code=lambda w: user_code(section(w.dataset)["module"]),
            options=lambda w: json.dumps(section(w.dataset)["options"], sort_keys=True),
        shell:
            "python -P -m sparse_pkg.commands.prepare_dataset --dataset {wildcards.dataset} "
            "--module {params.module} --options {params.options:q} "
            "--train-out {output.train} --test-out {output.test} 2> {log}"

    rule dataset_noise:
        input:
            test=f"{DATA}/{{dataset}}/test.pt",
            checked=checked(f"{DATA}/{{dataset}}/test.pt"),
        output:
            noisy=f"{DATA}/{{dataset}}/noisy/level_{{level}}.pt",
            sum=sidecar(f"{DATA}/{{dataset}}/noisy/level_{{level}}.pt"),
        log:
            f"{LOGS}/dataset_noise/{{dataset}}/level_{{level}}.log",
        wildcard_constraints:
            dataset="|".join(PLUGINS),
        conda:
            ENV
        resources:
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 10 * attempt,  # minutes
        params:
            code=code("dataset_noise"),  # library code run: a change reruns the job
            module=lambda w: section(w.dataset)["module"],
            module_code=lambda w: user_code(section(w.dataset)["module"]),
            noise_seed=lambda w: section(w.dataset)["noise_seed"],
        shell:
            "python -P -m sparse_pkg.commands.dataset_noise --dataset {wildcards.dataset} "
            "--module {params.module} --test {input.test} --noise-level {wildcards.level} "
            "--noise-seed {params.noise_seed} --out {output.noisy} 2> {log}"
