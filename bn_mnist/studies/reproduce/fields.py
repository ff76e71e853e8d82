"""The fields of a reproduction's per-seed records: flat mappings such as {"seed": 0, "bn.val": 0.98,
"no_bn.reach90": None}, one per seed and scope. `reproduce` writes them, `claims` judges them, `report` prints them:
every key is named here once, so that a rename breaks an import instead of a report."""

from __future__ import annotations

from typing import Any

SeedRecord = dict[str, Any]  # one seed's record of a scope
# Per network (prefixed with its name by `key`): from the run's summary and metrics.
VAL = "val"  # final validation accuracy
TEST = "test"  # final test accuracy
SINGLE = "single"  # accuracy on 100 test images fed one at a time
DIVERGED = "diverged_at_step"
VAL_LAST = "val_last3"  # the mean of the last LAST_K logged validation accuracies: the endpoint alone is noisy
LAST_K = 3
MAX_VAL = "max_val"  # the highest logged validation accuracy
REACH = {0.8: "reach80", 0.9: "reach90", 0.95: "reach95"}  # the first step with validation accuracy >= it
REACH80, REACH90, REACH95 = REACH[0.8], REACH[0.9], REACH[0.95]
REACH90_TEST = "reach90_test"  # the paper's runs: the first step with test accuracy >= 90%
DRIFT = "drift"  # the paper's runs: how far the sigmoid input's percentiles move
NEAR_MAX_STEP = "near_max_step"  # the first step within rules.NEAR_MAX of the best validation accuracy
BOUNCES = "bounces"  # drops of >= rules.BOUNCE between consecutive evaluations (rules.drops)
WILD_BOUNCES = "wild_bounces"  # drops of >= rules.WILD_BOUNCE
STUCK = "stuck_steps"  # steps from first reaching 0.88 to first reaching 0.92 (rules.stuck_steps)
# The inference pitfall: per seed two trainings, as the Lesson's two cells: one evaluated with batch statistics, one
# with the moving averages (no network prefix; each training's final validation accuracy under its prefix).
BATCH_RUN, POPULATION_RUN = "batch_run", "population_run"
SINGLE_POPULATION = "single_population"
FULL_POPULATION = "full_population"
SINGLE_BATCH_STATS = "single_batch_stats"
SINGLE_BATCH_STATS_CLASSES = "single_batch_stats_classes"
SINGLE_BATCH_STATS_CLASS = "single_batch_stats_class"
FULL_BATCH_STATS = "full_batch_stats"


def key(network: str, name: str) -> str:
    """A network's field in a flat record: key("bn", VAL) == "bn.val"."""
    return f"{network}.{name}"


def val_at(step: int) -> str:
    """Validation accuracy logged at `step` (the Solutions' table columns)."""
    return f"val@{step}"


def flat(parts: dict[str, dict[str, Any]], seed: int) -> SeedRecord:
    """{"bn": {VAL: .98}} -> {"seed": 0, "bn.val": .98}: one record per seed, as the rules read it."""
    return {"seed": seed, **{key(net, name): value for net, values in parts.items() for name, value in values.items()}}
