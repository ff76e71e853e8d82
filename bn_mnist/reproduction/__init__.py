"""`bn-mnist reproduce`: the tutorial's published experiments as data (`experiments`), its claims as rules
(`claims`), the runs and their records (`reproduce`), the paper's probe (`probes`), `figures` and `report`."""

EXPERIMENTS = ("conv", "lesson", "pitfall", "paper")  # here, so the CLI lists them without importing TensorFlow
