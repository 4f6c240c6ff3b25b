# Evaluation: each run's checkpoints (one per protocol) on each noise level's test set.
# Per-level jobs are grouped so that a cluster submits them together; with
# compute.evaluate_per: run, one job per run scores every level (one torch start-up, for CPUs).


if EVALUATE_PER == "run":

    rule evaluate_run:
        input:
            checkpoints=checkpoints_of,
            tests=lambda w: noisy_sets(w.dataset),
            checked=lambda w: [checked(p) for p in noisy_sets(w.dataset)],
        output:
            expand(
                f"{RESULTS}/runs/{{dataset}}/{{network}}/seed_{{seed}}/eval/level_{{level}}.parquet",
                level=LEVELS,
                allow_missing=True,
            ),
        log:
            f"{LOGS}/evaluate/{{dataset}}/{{network}}/seed_{{seed}}/levels.log",
        conda:
            ENV
        threads: COMPUTE["eval_threads"]
        resources:
            **gpu_resources(),
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 60 * attempt,  # minutes
        params:
            code=code("evaluate"),  # library code run: a change reruns the job
            checkpoints=lambda w, input: " ".join(
                f"--checkpoint {c}" for c in input.checkpoints
            ),
            levels=" ".join(f"--noise-level {lv}" for lv in LEVELS),
            tests=lambda w, input: " ".join(f"--test {t}" for t in input.tests),
            outs=lambda w, output: " ".join(f"--out {o}" for o in output),
            device=COMPUTE["device"],
        shell:
            "python -P -m sparse_pkg.commands.evaluate {params.checkpoints} {params.tests} {params.levels} "
            "{params.outs} --threads {threads} --device {params.device} 2> {log}"

else:

    rule evaluate:
        input:
            checkpoints=checkpoints_of,
            test=f"{DATA}/{{dataset}}/noisy/level_{{level}}.pt",
            checked=checked(f"{DATA}/{{dataset}}/noisy/level_{{level}}.pt"),
        output:
            f"{RESULTS}/runs/{{dataset}}/{{network}}/seed_{{seed}}/eval/level_{{level}}.parquet",
        log:
            f"{LOGS}/evaluate/{{dataset}}/{{network}}/seed_{{seed}}/level_{{level}}.log",
        group:
            "evaluate"
        conda:
            ENV
        threads: COMPUTE["eval_threads"]
        resources:
            **gpu_resources(),
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 10 * attempt,  # minutes
        params:
            code=code("evaluate"),  # library code run: a change reruns the job
            checkpoints=lambda w, input: " ".join(
                f"--checkpoint {c}" for c in input.checkpoints
            ),
            device=COMPUTE["device"],
        shell:
            "python -P -m sparse_pkg.commands.evaluate {params.checkpoints} --test {input.test} "
            "--noise-level {wildcards.level} --out {output} --threads {threads} "
            "--device {params.device} 2> {log}"


rule evaluate_background:
    input:
        checkpoints=checkpoints_of,
        test=f"{DATA}/gsc/background.pt",
        checked=checked(f"{DATA}/gsc/background.pt"),
    output:
        f"{RESULTS}/runs/{{dataset}}/{{network}}/seed_{{seed}}/eval/background.parquet",
    log:
        f"{LOGS}/evaluate/{{dataset}}/{{network}}/seed_{{seed}}/background.log",
    group:
        "evaluate"
    conda:
        ENV
    threads: COMPUTE["eval_threads"]
    resources:
        **gpu_resources(),
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,  # minutes
    params:
        code=code("evaluate"),  # library code run: a change reruns the job
        checkpoints=lambda w, input: " ".join(
            f"--checkpoint {c}" for c in input.checkpoints
        ),
        device=COMPUTE["device"],
    shell:
        "python -P -m sparse_pkg.commands.evaluate {params.checkpoints} --test {input.test} "
        "--out {output} --threads {threads} --device {params.device} 2> {log}"


# The tables are stacked in two stages: each run's files into that run's tables, then those into
# the results. A single command naming every file of the paper grid would outgrow the 128 KiB
# Linux allows one command; each command here names one run's files, or four tables per run.
# Every file a command reads is a declared input, passed under the option of its kind.
STACK = (
    "python -P -m sparse_pkg.commands.aggregate {params.files} --metrics-out {output.metrics} "
    "--history-out {output.history} --timing-out {output.timing} "
    "--background-out {output.background} 2> {log}"
)


rule aggregate_run:
    input:
        unpack(run_files),
    output:
        **run_tables("{dataset}", "{network}", "{seed}"),
    log:
        f"{LOGS}/aggregate/{{dataset}}/{{network}}/seed_{{seed}}.log",
    conda:
        ENV
    params:
        code=code("aggregate"),  # library code run: a change reruns the job
        files=files_by_kind,
    shell:
        STACK


rule aggregate:
    input:
        eval=every_run_table("metrics"),
        history=every_run_table("history"),
        timing=every_run_table("timing"),
        background=every_run_table("background"),
    output:
        **tables_in(RESULTS),
    log:
        f"{LOGS}/aggregate.log",
    conda:
        ENV
    params:
        code=code("aggregate"),  # library code run: a change reruns the job
        files=files_by_kind,
    shell:
        STACK
