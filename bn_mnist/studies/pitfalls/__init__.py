"""`bn-mnist pitfalls`: BN as it fails for TensorFlow 2 and Keras 3 users, each failure an experiment with its broken
setting and its fixes from the same start: the pitfalls, their budget and plan (`experiments`), the measurements
(`probes`), the rules (`claims`), the numbers over seeds (`analysis`), the typed results (`results`), `figures` and
`report`; `study` puts them on the pipeline (`lab.study`). Names only here: the CLI's --help needs no TensorFlow."""

from bn_mnist.lab.names import Names

PITFALLS = ("frozen", "lag", "batch", "non_iid", "dropout", "precision")
NAMES = Names(
    command="pitfalls",
    part="pitfall",
    parts=PITFALLS,
    summary="BN as it fails today: PITFALL is any of frozen, lag, batch, non_iid, dropout, precision (default: all).",
    seeds_help="Seeds 0..N-1 for every run (default: 10; 2 with --quick). Every number reported is over them.",
    quick_help="A smoke run (a few minutes): 400 steps a run instead of 2,000, 2 seeds unless --seeds.",
    rules=("bn_mnist/studies/pitfalls/claims.py",),
)
