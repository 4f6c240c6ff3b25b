# Report: tables and figures, pure functions of the result tables and the config.

import shlex

from sparse_pkg.reporting.paper_layout import table_dataset

rule table:
    input:
        metrics=rules.aggregate.output.metrics,
    output:
        report(f"{RESULTS}/table{{number}}.md", caption="../report/tables.rst",
               category="Tables"),
    wildcard_constraints:
        number="|".join(str(n) for n in TABLE_NUMBERS.values()),
    log:
        f"{LOGS}/table{{number}}.log",
    params:
        dataset=lambda w: table_dataset(w.number),
        source=lambda w: source_line(table_dataset(w.number)),
        definitions=config["networks_file"],
    conda:
        ENV
    shell:
        "python -P -m scripts.report table --metrics {input.metrics} "
        "--definitions {params.definitions} --dataset {params.dataset} "
        "--source-line '{params.source}' --out {output} 2> {log}"


rule table3:
    input:
        config["networks_file"],
    output:
        report(f"{RESULTS}/table3.md", caption="../report/table3.rst", category="Tables"),
    log:
        f"{LOGS}/table3.log",
    conda:
        ENV
    shell:
        "python -P -m scripts.report table3 --definitions {input} --out {output} 2> {log}"


# The paper's claims (config/claims.yaml, in this repository) tested on the run's results.
rule claims:
    input:
        metrics=rules.aggregate.output.metrics,
        figure2=f"{RESULTS}/fig2.csv",
        claims=repo_file("config/claims.yaml"),
    output:
        report(f"{RESULTS}/claims.md", caption="../report/claims.rst", category="Tables"),
    log:
        f"{LOGS}/claims.log",
    params:
        definitions=config["networks_file"],
        sources=" ".join(f"--source-line {shlex.quote(source_line(d))}" for d in DATASETS),
    conda:
        ENV
    shell:
        "python -P -m scripts.report claims --metrics {input.metrics} "
        "--definitions {params.definitions} --claims {input.claims:q} "
        "--figure2 {input.figure2} {params.sources} --out {output} 2> {log}"


rule figure2:
    output:
        png=report(f"{RESULTS}/fig2.png", caption="../report/fig2.rst", category="Figures"),
        pdf=f"{RESULTS}/fig2.pdf",
        csv=f"{RESULTS}/fig2.csv",
    log:
        f"{LOGS}/figure2.log",
    params:
        trials=config["figure2"]["trials"],
        seed=config["figure2"]["seed"],
        label=f"{config['run_label']} run",
    conda:
        ENV
    shell:
        "python -P -m scripts.report figure2 --trials {params.trials} --seed {params.seed} "
        "--png {output.png} --pdf {output.pdf} --csv {output.csv} --label {params.label:q} "
        "2> {log}"


rule figure4:
    input:
        metrics=rules.aggregate.output.metrics,
        samples=expand(f"{DATA}/mnist/noisy/level_{{level}}.pt", level=FIG4_LEVELS),
    output:
        png=report(f"{RESULTS}/fig4.png", caption="../report/fig4.rst", category="Figures"),
        pdf=f"{RESULTS}/fig4.pdf",
    log:
        f"{LOGS}/figure4.log",
    params:
        samples=lambda w, input: " ".join(f"--sample {p}" for p in input.samples),
        definitions=config["networks_file"],
        protocol=FIGURE_PROTOCOL,
        label=source_line("mnist"),
    conda:
        ENV
    shell:
        "python -P -m scripts.report figure4 --metrics {input.metrics} "
        "--definitions {params.definitions} {params.samples} --protocol {params.protocol} "
        "--png {output.png} --pdf {output.pdf} --label {params.label:q} 2> {log}"


rule gsc_noise_figure:
    input:
        metrics=rules.aggregate.output.metrics,
    output:
        png=report(f"{RESULTS}/gsc_noise.png", caption="../report/gsc_noise.rst",
                   category="Figures"),
        pdf=f"{RESULTS}/gsc_noise.pdf",
    log:
        f"{LOGS}/gsc_noise_figure.log",
    params:
        definitions=config["networks_file"],
        protocol=FIGURE_PROTOCOL,
        label=source_line("gsc"),
    conda:
        ENV
    shell:
        "python -P -m scripts.report gsc-noise --metrics {input.metrics} "
        "--definitions {params.definitions} --protocol {params.protocol} "
        "--png {output.png} --pdf {output.pdf} --label {params.label:q} 2> {log}"
