"""`bn-mnist reproduce`: the tutorial's published experiments as data, with the budget and the plan of runs
(`experiments`), its claims as rules (`claims`) on per-seed records (`fields`), the typed results (`results`) made
from the runs (`reproduce`), the paper's probe (`probes`), and `figures` and `report`, which render the results."""

EXPERIMENTS = ("conv", "lesson", "pitfall", "paper")  # here, so the CLI lists them without importing TensorFlow
