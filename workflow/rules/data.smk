# MNIST, offline by default: fetched once, verified against the canonical MD5s.


rule fetch_data:
    output:
        RAW,
    log:
        "logs/fetch_data.log",
    conda:
        "../../environment.yml"
    threads: 1
    params:
        root=lambda w, output: output[0].rsplit("/MNIST/", 1)[0],
        source=config["data"]["source"],
        path=f"--path {config['data']['path']}" if config["data"]["path"] else "",
    shell:
        "python -m smartmixed fetch-data --root {params.root} --source {params.source} "
        "{params.path} > {log} 2>&1"
