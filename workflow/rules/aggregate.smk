# Tidy tables from every finished run: one row per run and metric, curves, shares, costs.


rule aggregate:
    input:
        metrics=[f"{d}/metrics.json" for d in all_runs()],
    output:
        expand("results/tables/{table}.csv", table=TABLES),
    log:
        "logs/aggregate.log",
    localrule: True
    conda:
        "../../environment.yml"
    threads: 1
    params:
        runs=lambda w, input: " ".join(p.rsplit("/", 1)[0] for p in input.metrics),
    shell:
        "python -m smartmixed aggregate {params.runs} --out results/tables > {log} 2>&1"
