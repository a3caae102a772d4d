# One rule and one target file per figure, drawn from tables and stats only (never from runs).

FIGURE_CATEGORIES = {
    "accuracy": "C1 accuracy",
    "phases": "C2 Phase 1 vs Phase 2",
    "shares_heatmap": "C3 layer-wise preferences",
    "shares_depth": "C3 layer-wise preferences",
    "share_trajectories": "C3 layer-wise preferences",
    "ranks": "C4 ranks",
    "cost": "C5 cost",
    "curves": "Learning curves",
}

for _name in FIGURE_NAMES:

    rule:
        name:
            f"figure_{_name}"
        input:
            tables=expand("results/tables/{table}.csv", table=TABLES),
            stats=expand("results/stats/{name}.csv", name=STATS),
        output:
            svg=report(
                f"results/figures/{_name}.svg",
                caption=f"../../report/figures/{_name}.rst",
                category=FIGURE_CATEGORIES[_name],
            ),
            png=f"results/figures/{_name}.png",
        log:
            f"logs/figures/{_name}.log",
        localrule: True
        conda:
            "../../environment.yml"
        threads: 1
        params:
            name=_name,
        shell:
            "python -m smartmixed figure {params.name} --tables results/tables "
            "--stats results/stats --out {output.svg} > {log} 2>&1"


for _slug, _family in STUDY_FAMILIES.items():

    rule:
        name:
            f"figure_study_{_slug}"
        input:
            stats=expand("results/stats/{name}.csv", name=STATS),
        output:
            svg=report(
                f"results/figures/study_{_slug}.svg",
                caption="../../report/figures/study.rst",
                category="What drives the result",
            ),
            png=f"results/figures/study_{_slug}.png",
        log:
            f"logs/figures/study_{_slug}.log",
        localrule: True
        conda:
            "../../environment.yml"
        threads: 1
        params:
            family=shlex.quote(_family),
        shell:
            "python -m smartmixed figure study --family {params.family} "
            "--tables results/tables --stats results/stats --out {output.svg} > {log} 2>&1"
