"""`bn-mnist pitfalls`: BN as it fails for TensorFlow 2 and Keras 3 users, each failure an experiment with its broken
setting and its fixes from the same start: the measurements (`probes`). Names only here: the CLI's --help needs no
TensorFlow."""
