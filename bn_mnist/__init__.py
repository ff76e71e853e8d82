"""bn-mnist: show, measure and explain what batch normalization does to training on MNIST.

Where things live: `cli.py` (the commands, thin), `config.py` (every key and default) with `configs/` (shipped
experiments), `data/` (MNIST sources, verification, split), `nets/` (BN two ways, the networks), `training/`
(the compiled engine, one run, many runs, output files), `compare.py` (BN vs no BN), `plots/` (figures),
`reproduction/` (`bn-mnist reproduce`: the published experiments, claims and report). `console.py` and
`tf_startup.py` keep the terminal readable; `errors.py` holds the errors a user can act on.
"""
