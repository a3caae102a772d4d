# The final target: one self-contained HTML report (figures inlined) with every claim's verdict.


rule report:
    input:
        verdicts="results/stats/verdicts.json",
        stats=expand("results/stats/{name}.csv", name=STATS),
        figures=expand("results/figures/{name}.svg", name=FIGURE_NAMES),
        template="report/template.html.j2",
        style="report/style.css",
    output:
        "results/report/index.html",
    log:
        "logs/report.log",
    params:
        cfg=workflow_config_json(),
    threads: 1
    localrule: True
    shell:
        "python -m smartmixed report --tables results/tables --stats results/stats "
        "--figures results/figures --workflow-config {params.cfg} --out {output} > {log} 2>&1"
