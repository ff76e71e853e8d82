"""bn-mnist: show, measure and explain what batch normalization does to training on MNIST.

Four layers, each on the ones before it: `core/` (config, data, the networks, the compiled engine and the runner,
TensorBoard, plots, typed records and run files, the BN probe), `lab/` (the study contract and its one pipeline,
rules as data, plans, statistics, formats), `studies/` (`compare`, `reproduce`, `explain`, `pitfalls`, and the
registry of the studies), `tools/` (`diagnose` for any saved Keras model, `bench` for speed as ratios). The front:
`cli.py` (the commands, thin) on `api.py` (the same commands as Python functions) and `rebuild.py` (`bn-mnist
report`).

The Python API (`api.py`, documented in docs/python-api.md): `bn_mnist.train`, `compare`, `reproduce`, `explain`,
`pitfalls` and `diagnose` take the options of their commands and return their typed results, which a notebook shows
as tables and whose `figure()` is a matplotlib Figure.
"""

from bn_mnist.api import compare, diagnose, explain, pitfalls, reproduce, train

__all__ = ["compare", "diagnose", "explain", "pitfalls", "reproduce", "train"]
