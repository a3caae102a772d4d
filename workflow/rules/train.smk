# One training run per (architecture, method, seed); resumable, so a killed job loses no epoch.


rule train:
    input:
        ancient(RAW),
    output:
        metrics="results/runs/{arch}/{method}/seed{seed}/metrics.json",
        history="results/runs/{arch}/{method}/seed{seed}/history.csv",
        provenance="results/runs/{arch}/{method}/seed{seed}/provenance.json",
    log:
        "logs/train/{arch}/{method}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{arch}/{method}/seed{seed}.tsv"
    wildcard_constraints:
        arch=r"\d+",
        seed=r"\d+",
    params:
        flags=run_flags,
        out=lambda w: run_dir(w.arch, w.method, w.seed),
    threads: config["threads"]
    resources:
        mem_mb=config["train_resources"]["mem_mb"],
        runtime=config["train_resources"]["runtime"],
        gpu=gpus_per_job(),
    # Device and data root are read from config in the shell (not params): moving a run to a
    # GPU or another data copy must not retrain what is finished.
    shell:
        "python -m smartmixed train --arch {wildcards.arch} --method {wildcards.method} "
        "--seed {wildcards.seed} --out {params.out} --threads {threads} "
        "--device {config[device]} --data-root {config[data][root]} {params.flags} > {log} 2>&1"
