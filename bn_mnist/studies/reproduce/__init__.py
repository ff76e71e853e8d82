"""`bn-mnist reproduce`: the tutorial's published experiments as data, with the budget and the plan of runs
(`experiments`), its claims as rules (`claims`) on per-seed records (`fields`) made from the runs (`analysis`) and
judged (`judging`), the typed results (`results`), the paper's probe (`probes`), and `figures` and `report`, which
render the results; `study` puts them on the pipeline (`lab.study`). Names only here: the CLI's --help needs no
TensorFlow."""

from bn_mnist.lab.names import Names

EXPERIMENTS = ("conv", "lesson", "pitfall", "paper")
NAMES = Names(
    command="reproduce",
    part="experiment",
    parts=EXPERIMENTS,
    summary="Rerun the tutorial's published experiments over seeds; report ours next to theirs, with a verdict per "
    "claim.",
    seeds_help="Seeds 0..N-1 for every run (default: 20, the seeds the verdicts are calibrated at; 1 with --quick). "
    "Spreads and verdicts are over them.",
    quick_help="A smoke run: the Lesson's 50,000-batch rows run 5,000 batches, one seed unless --seeds.",
    many=False,
    rules=(
        "bn_mnist/studies/reproduce/ranktests.py",
        "bn_mnist/studies/reproduce/rules.py",
        "bn_mnist/studies/reproduce/claims.py",
        "bn_mnist/studies/reproduce/experiments.py",
    ),
)
