"""`bn-mnist pitfalls`: BN as it fails for TensorFlow 2 and Keras 3 users, each failure an experiment with its broken
setting and its fixes from the same start: the pitfalls, their budget and plan (`experiments`), the measurements
(`probes`), the rules (`claims`), the numbers over seeds (`analysis`), the typed results (`results`), `figures` and
`report`; `pitfalls` runs them. Names only here: the CLI's --help needs no TensorFlow."""

PITFALLS = ("frozen", "lag", "batch", "non_iid", "dropout", "precision")
