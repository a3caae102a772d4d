# The final target: one self-contained HTML report (figures inlined) with every claim's verdict.


rule report:
    input:
        verdicts="results/stats/verdicts.json",
        stats=expand("results/stats/{name}.csv", name=STATS),
        figures=expand("results/figures/{name}.svg", name=FIGURE_NAMES),
        study_figures=expand("results/figures/study_{slug}.svg", slug=STUDY_FAMILIES),
        template="report/template.html.j2",
        style="report/style.css",
    output:
        "results/report/index.html",
    log:
        "logs/report.log",
    localrule: True
    conda:
        "../../environment.yml"
    threads: 1
    params:
        cfg=workflow_config_json(),
    shell:
        "python -m smartmixed report --tables results/tables --stats results/stats "
        "--figures results/figures --template report --workflow-config {params.cfg} "
        "--out {output} > {log} 2>&1"
