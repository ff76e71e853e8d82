"""The core every command stands on: config (keys, defaults, loading), data (MNIST), nets (BN two ways, the
networks), training (the compiled engine, one run, many runs), tensorboard, plots, the typed records and the files a
run writes, and the BN probe that measures any model's BN layers. It imports nothing of `lab`, `studies` or
`tools` (tests/test_architecture.py)."""
