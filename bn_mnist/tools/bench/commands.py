"""Whole commands' wall time, start-up to exit, round-robin over repeats: the default compare against `model.fit` by
hand, Ray's cost per run, and what inside-the-network logging costs a compare."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bn_mnist.core.runfiles import SUMMARY_FILE

SCRIPT = str(Path(sys.executable).with_name("bn-mnist"))  # the installed console script of this environment


def wall_seconds(args: list[str], inspected: list[float] | None = None) -> float:
    """Wall time of one command of the installed script, start-up to exit, in a fresh output directory; appends
    each run's `inspect_seconds` (summary.json) to `inspected` when given."""
    with tempfile.TemporaryDirectory(prefix="bn-mnist-bench-") as temporary:
        started = time.perf_counter()
        subprocess.run([SCRIPT, *args, "--out", f"{temporary}/out"], check=True, capture_output=True)
        seconds = time.perf_counter() - started
        if inspected is not None:
            summaries = sorted(Path(temporary, "out").glob(f"*/{SUMMARY_FILE}"))
            inspected += [json.loads(path.read_text())["inspect_seconds"] or 0.0 for path in summaries]
        return seconds


FIT_TWO_CONV_NETS = """
import time, keras
from bn_mnist.core.config import load_config, with_bn
from bn_mnist.core.data import load_mnist
from bn_mnist.core.nets.models import build_model
from bn_mnist.core.tf_startup import start_tensorflow
from bn_mnist.core.training.engine import make_loss, make_optimizer
mnist, total = load_mnist(), 0.0
for bn in (True, False):
    config = with_bn(load_config("conv"), bn)
    model = build_model(config.model, config.bn, config.seed)
    model.compile(optimizer=make_optimizer(config), loss=make_loss(config.train.loss), metrics=["accuracy"])
    steps, batch = config.train.steps, config.train.batch_size
    x, y = mnist.train_x[: steps * batch], mnist.train_y[: steps * batch]
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    total += time.perf_counter() - started
print(total)
"""


def fit_seconds() -> float:
    """What a user writes by hand: `model.fit` (default settings and threads) training the default compare's two
    conv nets for its 800 steps, in a fresh process; the time inside the two fit calls (tracing included)."""
    result = subprocess.run([sys.executable, "-c", FIT_TWO_CONV_NETS], check=True, capture_output=True, text=True)
    return float(result.stdout.split()[-1])


def plan_args(runs: int) -> list[str]:
    """A plan of `runs` short runs: the Lesson's pitfall run (2,000 batches of the FC net) over `runs` seeds."""
    return ["reproduce", "pitfall", "--quick", "--seeds", str(runs)]


PLAN_SIZES = (4, 12)
END_TO_END = {  # name -> command (None: model.fit by hand)
    "compare": ["compare"],
    "compare_ray_local": ["compare", "--ray", "local"],
    "fit": None,
    **{f"plan{n}": plan_args(n) for n in PLAN_SIZES},
    **{f"plan{n}_ray_local": [*plan_args(n), "--ray", "local"] for n in PLAN_SIZES},
}


def round_robin(
    commands: dict[str, list[str] | None], repeats: int, log=print, inspected: dict[str, list[float]] | None = None
) -> dict[str, list[float]]:
    """Wall seconds of each command (None: model.fit by hand), all commands once per repeat, so that the
    machine's drifts hit all alike; `inspected` collects each command's runs' inspect_seconds."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for repeat in range(repeats):
        for name, args in commands.items():
            runs = None if inspected is None else inspected.setdefault(name, [])
            samples[name].append(fit_seconds() if args is None else wall_seconds(args, runs))
            log(f"repeat {repeat + 1}/{repeats}: {name} {samples[name][-1]:.1f} s")
    return samples


def end_to_end(repeats: int, log=print) -> dict:
    """Wall times of whole commands, round-robin over repeats: the default compare against `model.fit` training
    the same two networks, the same compare on a one-machine Ray instance, and Ray's cost per run (a plan of 4 and
    of 12 runs, locally and on Ray with the same CPUs: the difference of the differences over 8 runs)."""
    samples = round_robin(END_TO_END, repeats, log)
    median = {name: statistics.median(values) for name, values in samples.items()}
    small, large = PLAN_SIZES
    local_per_run = (median[f"plan{large}"] - median[f"plan{small}"]) / (large - small)
    ray_per_run = (median[f"plan{large}_ray_local"] - median[f"plan{small}_ray_local"]) / (large - small)
    ray_cost = ray_per_run - local_per_run  # what Ray adds to each run
    return {
        "repeats": repeats,
        "samples": samples,
        "median_seconds": median,
        "compare_vs_fit": median["compare"] / median["fit"],
        "compare_ray_local_vs_fit": median["compare_ray_local"] / median["fit"],
        "ray_start_seconds": median[f"plan{small}_ray_local"] - median[f"plan{small}"] - small * ray_cost,
        "ray_seconds_per_run": ray_cost,
    }


INSPECTION = {  # inside-the-network logging (log.histograms) on and off: the default compare and the Lesson's
    f"{net}_{state}": ["compare", *(["--config", "fc"] if net == "fc" else []), "--set", f"log.histograms={flag}"]
    for net in ("conv", "fc")
    for state, flag in (("on", "true"), ("off", "false"))
}


def inspection_cost(repeats: int, log=print) -> dict:
    """What `log.histograms` costs a whole compare: the default conv compare (9 evaluations of the 19-layer nets)
    and the FC Lesson's (101 evaluations), on and off, round-robin over repeats; the ratio of the medians, and the
    seconds the runs themselves spent inspecting (timed inside each run: immune to the noise between commands)."""
    inspected: dict[str, list[float]] = {}
    samples = round_robin(INSPECTION, repeats, log, inspected)
    median = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "repeats": repeats,
        "samples": samples,
        "median_seconds": median,
        "inspect_seconds": {name: inspected[f"{name}_on"] for name in ("conv", "fc")},  # BN and no-BN run per repeat
        **{f"{net}_on_vs_off": median[f"{net}_on"] / median[f"{net}_off"] for net in ("conv", "fc")},
    }


def samples_table(results: dict) -> list[str]:
    lines = [f"{'command':20} {'median s':>9}  samples"]
    for name, values in results["samples"].items():
        lines.append(f"{name:20} {results['median_seconds'][name]:>9.1f}  {', '.join(f'{v:.1f}' for v in values)}")
    return lines


def inspection_table(results: dict) -> str:
    ratios = [f"{net} compare {results[f'{net}_on_vs_off']:.3f}x" for net in ("conv", "fc")]
    inside = [f"{net} {', '.join(f'{s:.2f}' for s in results['inspect_seconds'][net])}" for net in ("conv", "fc")]
    return "\n".join(
        [
            *samples_table(results),
            "log.histograms on / off: " + ", ".join(ratios),
            "seconds each run spent inspecting (bn, no_bn per repeat): " + "; ".join(inside),
        ]
    )


def end_to_end_table(results: dict) -> str:
    lines = samples_table(results)
    lines += [
        f"default compare / model.fit of its two nets: {results['compare_vs_fit']:.2f}x "
        f"(on a one-machine Ray instance: {results['compare_ray_local_vs_fit']:.2f}x)",
        f"Ray: {results['ray_start_seconds']:.1f} s to start, {results['ray_seconds_per_run']:+.2f} s per run "
        "against local worker processes",
    ]
    return "\n".join(lines)
