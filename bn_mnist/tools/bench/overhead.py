"""A run's cost beyond its training, as a worker pays it: the wall time of a short FC run in a process that has
trained before, over the run's own training seconds; with the compiled network kept from run to run
(`warm.Engines`, what workers do) and built anew for every run (what they did before)."""

from __future__ import annotations

import dataclasses
import gc
import statistics
import tempfile
import time
from pathlib import Path

from bn_mnist.core.config import load_config
from bn_mnist.core.data import Mnist
from bn_mnist.core.training import trainer, warm

SHORT_RUN = ("train.steps=500", "train.eval_every=250")  # a short run of a many-run command
WAYS = ("kept", "new")


def run_overhead(mnist: Mnist, repeats: int, overrides: tuple[str, ...] = SHORT_RUN, log=print) -> dict:
    """Per way, `repeats` runs (new seeds, in turn with the other way's) after one uncounted run of each: wall
    seconds, training seconds and their ratio, the run overhead."""
    config = load_config("fc", overrides)
    engines = {"kept": warm.Engines(), "new": None}
    samples: dict[str, dict[str, list[float]]] = {way: {"wall": [], "train": []} for way in WAYS}
    with tempfile.TemporaryDirectory(prefix="bn-mnist-bench-") as temporary:
        for repeat in range(repeats + 1):
            for way in WAYS:
                run_dir = Path(temporary, f"{way}{repeat}")
                started = time.perf_counter()
                summary = trainer.run(
                    dataclasses.replace(config, seed=repeat), run_dir, mnist, lambda _: None, None, engines[way]
                )
                if engines[way] is None:
                    gc.collect()  # what a worker did after every run, to free the Engine it built
                wall = time.perf_counter() - started
                if repeat:
                    samples[way]["wall"].append(wall)
                    samples[way]["train"].append(summary.train_seconds)
                log(f"run {repeat}/{repeats} {way}: {wall:.2f} s, {summary.train_seconds:.2f} s training")
    ratios = {way: [w / t for w, t in zip(s["wall"], s["train"])] for way, s in samples.items()}
    return {
        "config": list(overrides),
        "repeats": repeats,
        "samples": samples,
        "overhead": {way: statistics.median(values) for way, values in ratios.items()},
        "wall_new_over_kept": statistics.median(n / k for n, k in zip(samples["new"]["wall"], samples["kept"]["wall"])),
    }


def overhead_table(results: dict) -> str:
    rows = [
        f"{way:>5}: wall {statistics.median(results['samples'][way]['wall']):.2f} s, training "
        f"{statistics.median(results['samples'][way]['train']):.2f} s, run overhead {results['overhead'][way]:.2f}x"
        for way in WAYS
    ]
    return "\n".join(
        [
            f"an FC run ({' '.join(results['config'])}) in a process that has trained before (medians of "
            f"{results['repeats']}):",
            *rows,
            f"wall time, built anew over kept: {results['wall_new_over_kept']:.2f}x",
        ]
    )
