"""This project's engine against Keras `model.fit`, as ratios measured in one run.

For each network (fc, conv) with and without BN, four engines train the identical model on the identical data:
this project's engine with XLA on and off (`train.jit`), `model.fit` as a user writes it (default settings) and
`model.fit` tuned (`steps_per_execution`, `jit_compile` as `train.jit: auto` picks). Engines run round-robin,
repeat after repeat, so the machine's drifts hit all alike; each engine's first call (tracing, compilation) is
warm-up and not timed. A large float32 matmul timed in every round gives the machine's practical roofline.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core.config import Config, load_config, with_bn
from bn_mnist.core.data import Mnist
from bn_mnist.core.nets.models import build_model
from bn_mnist.core.training.engine import make_loss, make_optimizer
from bn_mnist.tools.bench.timing import MATMUL_N, engine_runner, matmul_gflops, timed

ENGINES = ("engine_jit_on", "engine_jit_off", "fit_default", "fit_tuned")
BASELINE = "fit_default"
CHUNK_STEPS = {"fc": 1000, "conv": 30}  # steps per timed call: about a second or more per engine


def step_flops(model: keras.Model, batch_size: int) -> int:
    """Model FLOPs of one training step: forward plus the two backward products, 3x the forward pass, whose
    multiply-adds x 2 per example are counted in the dense and conv layers (BN, activations ignored)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]
            total += 2 * height * width * int(np.prod(layer.kernel.shape))
    return 3 * total * batch_size


def fit_runner(config: Config, mnist: Mnist, chunk: int, tuned: bool) -> Callable[[], int]:
    """A callable running `model.fit` for one epoch of exactly `chunk` batches of the training set."""
    model = build_model(config.model, config.bn, config.seed)
    tuning = {"steps_per_execution": chunk, "jit_compile": config.xla} if tuned else {}
    model.compile(optimizer=make_optimizer(config), loss=make_loss(config.train.loss), metrics=["accuracy"], **tuning)
    batch = config.train.batch_size
    picked = np.random.default_rng(config.seed).integers(0, len(mnist.train_x), size=chunk * batch)
    images, labels = mnist.train_x[picked], mnist.train_y[picked]  # built once; fit shuffles them every call

    def run() -> int:
        model.fit(images, labels, batch_size=batch, epochs=1, verbose=0)
        return chunk

    return run


def make_runner(name: str, config: Config, mnist: Mnist, chunk: int) -> Callable[[], int]:
    if name.startswith("engine"):
        return engine_runner(config, mnist, "on" if name == "engine_jit_on" else "off", chunk)
    return fit_runner(config, mnist, chunk, tuned=name == "fit_tuned")


def make_runners(mnist: Mnist, repeats: int, chunks: dict[str, int], log) -> dict[tuple, dict]:
    """Every (network in `chunks`, bn, engine) with its runner, warmed up once, and the FLOPs of one step."""
    runners = {}
    for network, chunk in chunks.items():
        for bn in (True, False):
            config = with_bn(load_config(network, (f"train.steps={(repeats + 1) * chunk}",)), bn)
            flops = step_flops(build_model(config.model, config.bn, config.seed), config.train.batch_size)
            for name in ENGINES:
                started = time.perf_counter()
                run = make_runner(name, config, mnist, chunk)
                run()  # warm-up: tracing and compilation are not timed
                log(f"warm-up {network} {'BN' if bn else 'no BN'} {name}: {time.perf_counter() - started:.1f} s")
                runners[(network, bn, name)] = {"run": run, "flops": flops, "samples": [], "auto": config.xla}
    return runners


def rows(runners: dict[tuple, dict], roofline: float) -> list[dict]:
    """Median and spread of steps/s per engine, its ratio to `model.fit` default and its roofline fraction."""
    rows = []
    for (network, bn, name), entry in runners.items():
        median = statistics.median(entry["samples"])
        baseline = statistics.median(runners[(network, bn, BASELINE)]["samples"])
        gflops = median * entry["flops"] / 1e9
        rows.append(
            {
                "network": network,
                "bn": bn,
                "engine": name,
                "steps_per_second": median,
                "min": min(entry["samples"]),
                "max": max(entry["samples"]),
                "samples": entry["samples"],
                "ratio_vs_fit_default": median / baseline,
                "gflops": gflops,
                "roofline_fraction": gflops / roofline,
                "step_mflop": entry["flops"] / 1e6,
                "jit_auto_choice": "on" if entry["auto"] else "off",
            }
        )
    return rows


def benchmark(mnist: Mnist, repeats: int, chunks: dict[str, int] = CHUNK_STEPS, log=print) -> dict:
    """Run every engine on the networks `chunks` names, `repeats` times round-robin after a warm-up; the JSON-ready
    results: per (network, bn, engine) the median steps/s, spread and ratios."""
    keras.utils.set_random_seed(0)  # no op determinism: Keras refuses XLA under it, and fit_tuned should have XLA
    runners = make_runners(mnist, repeats, chunks, log)
    roofline_samples = []
    for repeat in range(repeats):
        roofline_samples.append(matmul_gflops())
        for entry in runners.values():
            entry["samples"].append(timed(entry["run"]))
        log(f"repeat {repeat + 1}/{repeats} done")
    roofline = statistics.median(roofline_samples)
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "processor": platform.processor(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "repeats": repeats,
        "chunk_steps": chunks,
        "roofline_gflops": roofline,
        "roofline_samples": roofline_samples,
        "results": rows(runners, roofline),
    }


def console_table(results: dict) -> str:
    samples = ", ".join(f"{g:.0f}" for g in results["roofline_samples"])
    lines = [
        f"float32 {MATMUL_N}x{MATMUL_N} matmul roofline: {results['roofline_gflops']:.0f} GFLOP/s ({samples})",
        f"{'net':5} {'BN':3} {'engine':15} {'steps/s':>9} {'min..max':>17} {'vs fit':>7} {'GFLOP/s':>8} "
        f"{'roofline':>9}",
    ]
    for row in results["results"]:
        spread = f"{row['min']:,.0f}..{row['max']:,.0f}"
        lines.append(
            f"{row['network']:5} {'yes' if row['bn'] else 'no':3} {row['engine']:15} "
            f"{row['steps_per_second']:>9,.1f} {spread:>17} {row['ratio_vs_fit_default']:>6.2f}x "
            f"{row['gflops']:>8.1f} {row['roofline_fraction']:>8.1%}"
        )
    return "\n".join(lines)
