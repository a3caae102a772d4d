# MNIST, offline by default: fetched once, verified against the canonical MD5s.


rule fetch_data:
    output:
        RAW,
    log:
        "logs/fetch_data.log",
    params:
        root=DATA_ROOT,
        source=config["data"]["source"],
        path=f"--path {config['data']['path']}" if config["data"]["path"] else "",
    threads: 1
    shell:
        "python -m smartmixed fetch-data --root {params.root} --source {params.source} "
        "{params.path} > {log} 2>&1"
