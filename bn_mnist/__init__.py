"""bn-mnist: show, measure and explain what batch normalization does to training on MNIST.

Where things live: `cli.py` (the commands, thin) on `api.py` (the same commands as Python functions),
`rebuild.py` (`bn-mnist report`), `config.py` (every key and default) with `configs/` (shipped experiments),
`records.py` (typed records and their JSON), `runfiles.py` (a run's files), `files.py` (files written whole),
`provenance.py` (the code version a run records), `data/` (MNIST sources, verification, split), `nets/` (BN two
ways, the networks, their layer names), `training/` (the compiled engine, one run, what is measured at evaluations,
many runs), `tensorboard/` (the writer, HParams, images, tags), `plots/` (figures), `lab/` (what the multi-run
commands share: arms, plans, runs, statistics, formats), the commands `comparison.py` (`bn-mnist compare`),
`reproduction/` (`bn-mnist reproduce`), `explanation/` (`bn-mnist explain`) and `diagnosis/` (`bn-mnist diagnose`,
for any saved Keras model), and `bench/` (speed as ratios).
`console.py` and `tf_startup.py` keep the terminal readable and start TensorFlow as a run needs; `errors.py` holds
the errors a user can act on.

The Python API (`api.py`, documented in docs/python-api.md): `bn_mnist.train`, `compare`, `reproduce`, `explain`
and `diagnose` take the options of their commands and return their typed results, which a notebook shows as tables
and whose `figure()` is a matplotlib Figure.
"""

from bn_mnist.api import compare, diagnose, explain, pitfalls, reproduce, train

__all__ = ["compare", "diagnose", "explain", "pitfalls", "reproduce", "train"]
