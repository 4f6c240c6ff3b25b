# Training: one job per data set x network x seed (resumable: a rerun continues the last epoch).


rule train:
    input:
        unpack(train_inputs),
    output:
        paper=f"{RESULTS}/runs/{{dataset}}/{{network}}/seed_{{seed}}/paper.pt",
        final=f"{RESULTS}/runs/{{dataset}}/{{network}}/seed_{{seed}}/final.pt",
        history=f"{RESULTS}/runs/{{dataset}}/{{network}}/seed_{{seed}}/history.parquet",
        timing=f"{RESULTS}/runs/{{dataset}}/{{network}}/seed_{{seed}}/timing.parquet",
    log:
        f"{LOGS}/train/{{dataset}}/{{network}}/seed_{{seed}}.log",
    benchmark:
        f"{BENCH}/train/{{dataset}}/{{network}}/seed_{{seed}}.tsv"
    conda:
        ENV
    threads: COMPUTE["train_threads"]
    resources:
        **gpu_resources(),
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 720 * attempt,  # minutes
    params:
        code=code("train"),  # library code run: a change reruns the job
        definitions=NETWORKS_COPY,  # a stable path: see common.smk
        definition=definition_json,  # editing one network reruns only that network's jobs
        options=train_options,
        out_dir=lambda w, output: str(Path(output.history).parent),
        device=COMPUTE["device"],
    shell:
        "python -P -m sparse_pkg.commands.train --definitions {params.definitions} "
        "--dataset {wildcards.dataset} --network {wildcards.network} --seed {wildcards.seed} "
        "--train {input.train} "
        "--test {input.test} {params.options} --out-dir {params.out_dir} --threads {threads} "
        "--device {params.device} 2> {log}"
