"""TensorBoard: a run's writer (`writer.py`: scalars, histograms, raw summaries), the settings and outcome of every
run for the HParams dashboard (`hparams.py`), and plots as images (`images.py`); every tag name is in `tags.py`."""
