# Report: tables and figures, pure functions of the result tables and the config.

import shlex

from sparse_pkg.reporting.paper_layout import table_dataset


rule table:
    input:
        metrics=rules.aggregate.output.metrics,
        provenance=f"{RESULTS}/provenance.json",
    output:
        md=f"{RESULTS}/table{{number}}.md",
        html=report(
            f"{RESULTS}/table{{number}}.html",
            caption="../report/tables.rst",
            category="Tables",
            labels={"table": "Table {number}"},
        ),
    log:
        f"{LOGS}/table{{number}}.log",
    wildcard_constraints:
        number="|".join(str(n) for n in TABLE_NUMBERS.values()),
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        definitions=NETWORKS_COPY,  # a stable path: see common.smk
        dataset=lambda w: table_dataset(w.number),
        source=lambda w: source_line(table_dataset(w.number)),
    shell:
        "python -P -m sparse_pkg.commands.report table --metrics {input.metrics} "
        "--definitions {params.definitions} --dataset {params.dataset} "
        "--source-line '{params.source}' --provenance {input.provenance} --out {output.md} "
        "--html {output.html} 2> {log}"


# Table 3 depends on the definitions' content (a param), not their path.
rule table3:
    output:
        md=f"{RESULTS}/table3.md",
        html=report(
            f"{RESULTS}/table3.html",
            caption="../report/table3.rst",
            category="Tables",
            labels={"table": "Table 3"},
        ),
    log:
        f"{LOGS}/table3.log",
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        definitions=NETWORKS_COPY,  # a stable path: see common.smk
        networks=DEFINITIONS_SHA256,
    shell:
        "python -P -m sparse_pkg.commands.report table3 --definitions {params.definitions} "
        "--out {output.md} "
        "--html {output.html} 2> {log}"


# The paper's claims (config key claims_file, by default config/claims.yaml) tested on the run's
# results.
rule claims:
    input:
        metrics=rules.aggregate.output.metrics,
        figure2=f"{RESULTS}/fig2.csv",
        claims=CLAIMS_FILE,
        provenance=f"{RESULTS}/provenance.json",
    output:
        md=f"{RESULTS}/claims.md",
        csv=f"{RESULTS}/claims.csv",
        html=report(
            f"{RESULTS}/claims.html",
            caption="../report/claims.rst",
            category="Tables",
            labels={"table": "Claims"},
        ),
    log:
        f"{LOGS}/claims.log",
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        definitions=NETWORKS_COPY,  # a stable path: see common.smk
        sources=" ".join(
            f"--source-line {shlex.quote(source_line(d))}" for d in DATASETS
        ),
    shell:
        "python -P -m sparse_pkg.commands.report claims --metrics {input.metrics} "
        "--definitions {params.definitions} --claims {input.claims:q} "
        "--figure2 {input.figure2} {params.sources} --provenance {input.provenance} "
        "--out {output.md} --html {output.html} --csv {output.csv} 2> {log}"


# What made the results: workflow version and commit, config and lock hashes, and each software
# and hardware environment that trained or scored a run (from the rows' environment column).
rule provenance:
    input:
        history=rules.aggregate.output.history,
        metrics=rules.aggregate.output.metrics,
    output:
        json=f"{RESULTS}/provenance.json",
        html=report(
            f"{RESULTS}/provenance.html",
            caption="../report/provenance.rst",
            category="Provenance",
            labels={"page": "Provenance"},
        ),
    log:
        f"{LOGS}/provenance.log",
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        version=VERSION,
        commit=COMMIT,
        config_sha256=CONFIG_SHA256,
        lock_sha256=LOCK_SHA256,
        data=data_sources(),
    shell:
        "python -P -m sparse_pkg.commands.report provenance --history {input.history} "
        "--metrics {input.metrics} --version {params.version} --commit '{params.commit}' "
        "--config-sha256 {params.config_sha256} --lock-sha256 {params.lock_sha256} {params.data} "
        "--out {output.json} --html {output.html} 2> {log}"


# A data set of your own (config key datasets): its results table and noise curves, as Table 1
# and the GSC noise figure are made (no published numbers to set beside them).
if PLUGINS:

    rule plugin_table:
        input:
            metrics=rules.aggregate.output.metrics,
            provenance=f"{RESULTS}/provenance.json",
        output:
            md=f"{RESULTS}/table_{{dataset}}.md",
            html=report(
                f"{RESULTS}/table_{{dataset}}.html",
                caption="../report/tables.rst",
                category="Tables",
                labels={"table": "{dataset}"},
            ),
        log:
            f"{LOGS}/table_{{dataset}}.log",
        wildcard_constraints:
            dataset="|".join(PLUGINS),
        conda:
            ENV
        params:
            code=code("report"),  # library code run: a change reruns the job
            definitions=NETWORKS_COPY,  # a stable path: see common.smk
            title=lambda w: f"{registry.info(w.dataset).title}: test accuracy and noise score",
            source=lambda w: source_line(w.dataset),
        shell:
            "python -P -m sparse_pkg.commands.report table --metrics {input.metrics} "
            "--definitions {params.definitions} --dataset {wildcards.dataset} --no-published "
            "--title {params.title:q} --source-line {params.source:q} "
            "--provenance {input.provenance} --out {output.md} --html {output.html} 2> {log}"

    rule plugin_noise_figure:
        input:
            metrics=rules.aggregate.output.metrics,
        output:
            png=report(
                f"{RESULTS}/{{dataset}}_noise.png",
                caption="../report/gsc_noise.rst",
                category="Figures",
            ),
            pdf=f"{RESULTS}/{{dataset}}_noise.pdf",
        log:
            f"{LOGS}/{{dataset}}_noise_figure.log",
        wildcard_constraints:
            dataset="|".join(PLUGINS),
        conda:
            ENV
        params:
            code=code("report"),  # library code run: a change reruns the job
            definitions=NETWORKS_COPY,  # a stable path: see common.smk
            protocol=FIGURE_PROTOCOL,
            title=lambda w: f"{registry.info(w.dataset).title}: test accuracy vs noise",
            axis=lambda w: registry.info(w.dataset).noise,
            label=lambda w: source_line(w.dataset),
        shell:
            "python -P -m sparse_pkg.commands.report noise-curves --metrics {input.metrics} "
            "--definitions {params.definitions} --dataset {wildcards.dataset} "
            "--protocol {params.protocol} --title {params.title:q} --axis-label {params.axis:q} "
            "--png {output.png} --pdf {output.pdf} --label {params.label:q} 2> {log}"


# A sparsity sweep (config key sweeps): its table, figure and runs, from the aggregated metrics.
rule sweep_report:
    input:
        metrics=rules.aggregate.output.metrics,
        provenance=f"{RESULTS}/provenance.json",
    output:
        md=f"{RESULTS}/sweeps/{{sweep}}.md",
        html=report(
            f"{RESULTS}/sweeps/{{sweep}}.html",
            caption="../report/sweep.rst",
            category="Sweeps",
            labels={"sweep": "{sweep}", "kind": "table"},
        ),
        png=report(
            f"{RESULTS}/sweeps/{{sweep}}.png",
            caption="../report/sweep.rst",
            category="Sweeps",
            labels={"sweep": "{sweep}", "kind": "figure"},
        ),
        pdf=f"{RESULTS}/sweeps/{{sweep}}.pdf",
        csv=f"{RESULTS}/sweeps/{{sweep}}.csv",
    log:
        f"{LOGS}/sweeps/{{sweep}}.log",
    wildcard_constraints:
        sweep="[A-Za-z][A-Za-z0-9]*",
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        definitions=NETWORKS_COPY,  # a stable path: see common.smk
        networks=DEFINITIONS_SHA256,  # the sweep's networks are generated from the config
        protocol=FIGURE_PROTOCOL,
        source=lambda w: source_line(SWEEPS[w.sweep].dataset, sweep=w.sweep),
    shell:
        "python -P -m sparse_pkg.commands.report sweep --metrics {input.metrics} "
        "--definitions {params.definitions} --sweep {wildcards.sweep} "
        "--protocol {params.protocol} --source-line {params.source:q} "
        "--provenance {input.provenance} --out {output.md} --html {output.html} "
        "--png {output.png} --pdf {output.pdf} --csv {output.csv} 2> {log}"


# Two results folders side by side (config key compare): per-network differences B − A with
# intervals over seeds, and the verdicts that changed.
if COMPARE:

    rule compare:
        input:
            a=compared_files("a"),
            b=compared_files("b"),
        output:
            md=f"{RESULTS}/compare.md",
            html=report(
                f"{RESULTS}/compare.html",
                caption="../report/compare.rst",
                category="Tables",
                labels={"table": "Compare"},
            ),
        log:
            f"{LOGS}/compare.log",
        localrule: True
        conda:
            ENV
        params:
            code=code("compare"),  # library code run: a change reruns the job
            a=config["compare"]["a"],
            b=config["compare"]["b"],
            names=(
                f"--name-a {shlex.quote(config['compare']['name_a'])} "
                f"--name-b {shlex.quote(config['compare']['name_b'])}"
            ),
        shell:
            "python -P -m sparse_pkg.commands.compare {params.a:q} {params.b:q} {params.names} "
            "--out {output.md} --html {output.html} 2> {log}"


rule figure2:
    output:
        png=report(
            f"{RESULTS}/fig2.png", caption="../report/fig2.rst", category="Figures"
        ),
        pdf=f"{RESULTS}/fig2.pdf",
        csv=f"{RESULTS}/fig2.csv",
    log:
        f"{LOGS}/figure2.log",
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        trials=config["figure2"]["trials"],
        seed=config["figure2"]["seed"],
    shell:
        "python -P -m sparse_pkg.commands.report figure2 --trials {params.trials} --seed {params.seed} "
        "--png {output.png} --pdf {output.pdf} --csv {output.csv} "
        "2> {log}"


rule figure4:
    input:
        metrics=rules.aggregate.output.metrics,
        samples=expand(f"{DATA}/mnist/noisy/level_{{level}}.pt", level=FIG4_LEVELS),
    output:
        png=report(
            f"{RESULTS}/fig4.png", caption="../report/fig4.rst", category="Figures"
        ),
        pdf=f"{RESULTS}/fig4.pdf",
    log:
        f"{LOGS}/figure4.log",
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        definitions=NETWORKS_COPY,  # a stable path: see common.smk
        samples=lambda w, input: " ".join(f"--sample {p}" for p in input.samples),
        protocol=FIGURE_PROTOCOL,
        label=source_line("mnist"),
    shell:
        "python -P -m sparse_pkg.commands.report figure4 --metrics {input.metrics} "
        "--definitions {params.definitions} {params.samples} --protocol {params.protocol} "
        "--png {output.png} --pdf {output.pdf} --label {params.label:q} 2> {log}"


rule gsc_noise_figure:
    input:
        metrics=rules.aggregate.output.metrics,
    output:
        png=report(
            f"{RESULTS}/gsc_noise.png",
            caption="../report/gsc_noise.rst",
            category="Figures",
        ),
        pdf=f"{RESULTS}/gsc_noise.pdf",
    log:
        f"{LOGS}/gsc_noise_figure.log",
    conda:
        ENV
    params:
        code=code("report"),  # library code run: a change reruns the job
        definitions=NETWORKS_COPY,  # a stable path: see common.smk
        protocol=FIGURE_PROTOCOL,
        label=source_line("gsc"),
    shell:
        "python -P -m sparse_pkg.commands.report gsc-noise --metrics {input.metrics} "
        "--definitions {params.definitions} --protocol {params.protocol} "
        "--png {output.png} --pdf {output.pdf} --label {params.label:q} 2> {log}"
