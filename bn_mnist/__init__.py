"""bn-mnist: show, measure and explain what batch normalization does to training on MNIST.

Where things live: `config.py` (every key and default), `data.py` (MNIST), `models.py` (the networks and where
BN goes), `loop.py` (the compiled training engine), `train.py` / `compare.py` (what the commands run),
`runlog.py` (output files and metric names), `plots.py`, `cli.py`. `reproduce`: `experiments.py` (the published
runs and numbers), `runner.py` (parallel, resumable runs), `claims.py` (published claims as rules),
`reproduce.py` (records and results.json), `reproduce_report.py` (report.md and figures), `probes.py`.
"""
