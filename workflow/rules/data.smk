# Data: MNIST and Speech Commands from their source to tensor sets and noisy test sets.

rule mnist_download:
    output:
        expand(f"{DATA}/mnist/raw/{{name}}", name=list(MNIST.get("md5", {}))),
    log:
        f"{LOGS}/mnist_download.log",
    params:
        script=f"{SCRIPTS}/download.py",
        mirrors=" ".join(f"--mirror {m}" for m in MNIST.get("mirrors", [])),
        md5s=" ".join(f"--md5 {k}={v}" for k, v in MNIST.get("md5", {}).items()),
        out_dir=lambda w, output: str(Path(output[0]).parent),
    conda:
        ENV
    shell:
        "python {params.script} mnist {params.mirrors} {params.md5s} "
        "--out-dir {params.out_dir} 2> {log}"


rule mnist_prepare:
    input:
        lambda w: rules.mnist_download.output if MNIST["source"] == "download" else [],
    output:
        train=f"{DATA}/mnist/train.pt",
        test=f"{DATA}/mnist/test.pt",
        noisy=expand(f"{DATA}/mnist/noisy/level_{{level}}.pt", level=LEVELS),
    log:
        f"{LOGS}/mnist_prepare.log",
    benchmark:
        f"{BENCH}/mnist_prepare.tsv"
    params:
        script=f"{SCRIPTS}/prepare_mnist.py",
        source="embedded" if MNIST["source"] == "embedded" else "directory",
        idx_dir=lambda w: f"--idx-dir {mnist_idx_dir()}" if mnist_idx_dir() else "",
        levels=" ".join(f"--noise-level {lv}" for lv in LEVELS),
        noisy=lambda w, output: " ".join(f"--noisy-out {p}" for p in output.noisy),
        test_fraction=MNIST.get("embedded_test_fraction", 0.2),
        split_seed=MNIST.get("split_seed", 0),
        noise_seed=MNIST.get("noise_seed", 1234),
    threads: 1
    conda:
        ENV
    shell:
        "python {params.script} --source {params.source} {params.idx_dir} "
        "--test-fraction {params.test_fraction} --split-seed {params.split_seed} "
        "{params.levels} --noise-seed {params.noise_seed} --train-out {output.train} "
        "--test-out {output.test} {params.noisy} 2> {log}"


rule gsc_synthetic_archive:
    output:
        f"{DATA}/gsc/synthetic_speech_commands.tar.gz",
    log:
        f"{LOGS}/gsc_synthetic_archive.log",
    benchmark:
        f"{BENCH}/gsc_synthetic_archive.tsv"
    params:
        script=f"{SCRIPTS}/make_synthetic_gsc.py",
        speakers=GSC.get("synthetic", {}).get("speakers", 60),
        utterances=GSC.get("synthetic", {}).get("utterances_per_word", 120),
        seed=GSC.get("synthetic", {}).get("seed", 7),
    conda:
        ENV
    shell:
        "python {params.script} --out {output} --speakers {params.speakers} "
        "--utterances-per-word {params.utterances} --seed {params.seed} 2> {log}"


rule gsc_download:
    output:
        f"{DATA}/gsc/speech_commands_v0.01.tar.gz",
    log:
        f"{LOGS}/gsc_download.log",
    params:
        script=f"{SCRIPTS}/download.py",
        url=GSC.get("url", ""),
        sha256=GSC.get("sha256", ""),
    conda:
        ENV
    shell:
        "python {params.script} file --url {params.url} --sha256 {params.sha256} "
        "--out {output} --hint 'put the archive at {output}, or set config keys gsc.source: "
        "archive and gsc.archive: PATH' 2> {log}"


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
    params:
        script=f"{SCRIPTS}/extract_gsc.py",
        verify=f"--sha256 {GSC.get('sha256')}" if GSC["source"] == "archive" else "",
        skip="--skip-bad" if GSC.get("skip_bad_wavs") else "",
    conda:
        ENV
    shell:
        "python {params.script} --archive {input.archive} {params.verify} "
        "--dest {output.clips} --manifest-out {output.manifest} "
        "--skipped-out {output.skipped} {params.skip} 2> {log}"


rule gsc_eval_features:
    input:
        clips=rules.gsc_extract.output.clips,
        manifest=rules.gsc_extract.output.manifest,
    output:
        validation=f"{DATA}/gsc/validation.pt",
        test=f"{DATA}/gsc/test.pt",
        noisy=expand(f"{DATA}/gsc/noisy/level_{{level}}.pt", level=LEVELS),
        background=f"{DATA}/gsc/background.pt",
    log:
        f"{LOGS}/gsc_eval_features.log",
    benchmark:
        f"{BENCH}/gsc_eval_features.tsv"
    params:
        script=f"{SCRIPTS}/gsc_features.py",
        levels=" ".join(f"--noise-level {lv}" for lv in LEVELS),
        noisy=lambda w, output: " ".join(f"--noisy-out {p}" for p in output.noisy),
        seed=GSC.get("noise_seed", 4321),
        device=COMPUTE.get("device", "auto"),
    threads: COMPUTE.get("prepare_threads", 2)
    conda:
        ENV
    shell:
        "python {params.script} eval --manifest {input.manifest} --root {input.clips} "
        "{params.levels} {params.noisy} --noise-seed {params.seed} "
        "--validation-out {output.validation} --test-out {output.test} "
        "--background-out {output.background} --threads {threads} --device {params.device} "
        "2> {log}"


rule gsc_train_features:
    input:
        clips=rules.gsc_extract.output.clips,
        manifest=rules.gsc_extract.output.manifest,
    output:
        f"{DATA}/gsc/train.pt",
    log:
        f"{LOGS}/gsc_train_features.log",
    benchmark:
        f"{BENCH}/gsc_train_features.tsv"
    params:
        script=f"{SCRIPTS}/gsc_features.py",
        silence=GSC.get("silence_fraction", 0.1),
        copies=GSC.get("augmented_copies", 25),
        seed=GSC.get("augment_seed", 5),
        device=COMPUTE.get("device", "auto"),
    threads: COMPUTE.get("prepare_threads", 2)
    conda:
        ENV
    shell:
        "python {params.script} train --manifest {input.manifest} --root {input.clips} "
        "--silence-fraction {params.silence} --augmented-copies {params.copies} "
        "--augment-seed {params.seed} --out {output} --threads {threads} "
        "--device {params.device} 2> {log}"
