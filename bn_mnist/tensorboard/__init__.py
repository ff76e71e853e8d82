"""TensorBoard beyond the run's scalars: what happens inside the network (`inspection.py`), the settings and
outcome of every run for the HParams dashboard (`hparams.py`), and plots as images (`images.py`); every tag name
is in `tags.py`."""
