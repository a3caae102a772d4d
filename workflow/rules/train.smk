# One training run per (architecture, method, seed) and per study; resumable per epoch.


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
    conda:
        "../../environment.yml"
    threads: config["threads"]
    resources:
        mem_mb=config["train_resources"]["mem_mb"],
        runtime=config["train_resources"]["runtime"],
        gpu=gpus_per_job(),
        # A resource, not a param: moving finished runs to another device must not retrain them.
        device=config["device"],
    params:
        flags=run_flags,
        out=lambda w: run_dir(w.arch, w.method, w.seed),
        data_root=lambda w, input: input[0].rsplit("/MNIST/", 1)[0],
    shell:
        "python -m smartmixed train --arch {wildcards.arch} --method {wildcards.method} "
        "--seed {wildcards.seed} --out {params.out} --threads {threads} "
        "--device {resources.device} --data-root {params.data_root} {params.flags} > {log} 2>&1"


use rule train as train_study with:
    output:
        metrics="results/studies/{study}/runs/{arch}/{method}/seed{seed}/metrics.json",
        history="results/studies/{study}/runs/{arch}/{method}/seed{seed}/history.csv",
        provenance="results/studies/{study}/runs/{arch}/{method}/seed{seed}/provenance.json",
    log:
        "logs/train_study/{study}/{arch}/{method}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_study/{study}/{arch}/{method}/seed{seed}.tsv"
    params:
        flags=run_flags,
        out=lambda w: run_dir(w.arch, w.method, w.seed, w.study),
        data_root=lambda w, input: input[0].rsplit("/MNIST/", 1)[0],
