# Wiring only: config, its validation, the rule files, and the final target (the HTML report).
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


# common.smk puts the interpreter running Snakemake first on PATH for every job.
envvars:
    "PATH",


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        "results/report/index.html",
