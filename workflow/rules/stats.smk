# Claim statistics and verdicts (SPEC section 4) from the tidy tables.


rule stats:
    input:
        tables=expand("results/tables/{table}.csv", table=TABLES),
        targets=config["targets"],
    output:
        expand("results/stats/{name}.csv", name=STATS),
        verdicts="results/stats/verdicts.json",
    log:
        "logs/stats.log",
    localrule: True
    conda:
        "../../environment.yml"
    threads: 1
    params:
        seed=config["bootstrap_seed"],
        studies=shlex.quote(json.dumps(config["studies"], sort_keys=True)),
    shell:
        "python -m smartmixed stats --tables results/tables --targets {input.targets} "
        "--seed {params.seed} --studies-json {params.studies} --out results/stats > {log} 2>&1"
