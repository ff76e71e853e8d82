"""Training speed of bn-mnist's engine against Keras `model.fit`, as ratios measured in one run.

    python scripts/bench.py                       # 3 repeats, about 8 minutes on 2 cores
    python scripts/bench.py --repeats 5 --out runs/bench.json
    python scripts/bench.py --threads 1             # the engine at train.threads, as every command runs it
    python scripts/bench.py --end-to-end --out runs/bench-end-to-end.json   # whole commands, ~4 min a repeat
    python scripts/bench.py --inspection --out runs/bench-inspection.json   # log.histograms' cost, ~2 min a repeat
    python scripts/bench.py --replicas --out runs/bench-replicas.json       # data parallelism, ~1 min a repeat

For each network (fc, conv) with and without BN, four engines train the identical model on the identical data:
this project's engine with XLA on and off (`train.jit`), `model.fit` as a user writes it (default settings) and
`model.fit` tuned (`steps_per_execution`, `jit_compile` as `train.jit: auto` picks). Engines run round-robin,
repeat after repeat, so the machine's drifts hit all alike; each engine's first call (tracing, compilation) is
warm-up and not timed. A large float32 matmul timed in every round gives the machine's practical roofline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.config import Config, load_config, with_bn, with_bn_on_replicas
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.nets.models import build_model
from bn_mnist.tf_startup import start_tensorflow
from bn_mnist.training import distribution
from bn_mnist.training.engine import build_engine, make_loss, make_optimizer, use_jit
from bn_mnist.training.runlog import SUMMARY_FILE

ENGINES = ("engine_jit_on", "engine_jit_off", "fit_default", "fit_tuned")
BASELINE = "fit_default"
CHUNK_STEPS = {"fc": 1000, "conv": 30}  # steps per timed call: about a second or more per engine
MATMUL_N = 4096


def forward_flops(model: keras.Model) -> int:
    """Multiply-adds x 2 of one example's forward pass through the dense and conv layers (BN, activations ignored)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]
            total += 2 * height * width * int(np.prod(layer.kernel.shape))
    return total


def step_flops(model: keras.Model, batch_size: int) -> int:
    """Model FLOPs of one training step: forward plus the two backward products, 3x the forward pass."""
    return 3 * forward_flops(model) * batch_size


def engine_runner(config: Config, mnist: Mnist, jit: str, chunk: int) -> Callable[[], int]:
    """A callable training the next `chunk` steps with this project's engine; returns the steps it ran."""
    config = replace(config, train=replace(config.train, jit=jit))
    engine = build_engine(config, mnist, distribution.make_strategy(config.distribute))
    done = 0

    def run() -> int:
        nonlocal done
        result = engine.train_steps(done, chunk)
        done += result.steps_done
        return result.steps_done

    return run


def fit_runner(config: Config, mnist: Mnist, chunk: int, tuned: bool) -> Callable[[], int]:
    """A callable running `model.fit` for one epoch of exactly `chunk` batches of the training set."""
    model = build_model(config.model, config.bn, config.seed)
    tuning = {"steps_per_execution": chunk, "jit_compile": use_jit(config)} if tuned else {}
    model.compile(optimizer=make_optimizer(config), loss=make_loss(config.train.loss), metrics=["accuracy"], **tuning)
    batch = config.train.batch_size
    picked = np.random.default_rng(config.seed).integers(0, len(mnist.train_x), size=chunk * batch)
    images, labels = mnist.train_x[picked], mnist.train_y[picked]  # built once; fit shuffles them every call

    def run() -> int:
        model.fit(images, labels, batch_size=batch, epochs=1, verbose=0)
        return chunk

    return run


def matmul_gflops(n: int = MATMUL_N) -> float:
    """GFLOP/s of one large float32 matmul: the practical compute roofline of this machine."""

    @tf.function
    def product(x: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(tf.matmul(x, x))

    a = tf.random.stateless_normal((n, n), seed=(1, 2))
    product(a).numpy()  # warm-up
    started = time.perf_counter()
    product(a).numpy()
    return 2 * n**3 / (time.perf_counter() - started) / 1e9


def timed(run: Callable[[], int]) -> float:
    started = time.perf_counter()
    steps = run()
    return steps / (time.perf_counter() - started)


def make_runner(name: str, config: Config, mnist: Mnist, chunk: int) -> Callable[[], int]:
    if name.startswith("engine"):
        return engine_runner(config, mnist, "on" if name == "engine_jit_on" else "off", chunk)
    return fit_runner(config, mnist, chunk, tuned=name == "fit_tuned")


def make_runners(mnist: Mnist, repeats: int, chunks: dict[str, int], log) -> dict[tuple, dict]:
    """Every (network in `chunks`, bn, engine) with its runner, warmed up once, and the FLOPs of one step."""
    runners = {}
    for network in chunks:
        chunk = chunks[network]
        for bn in (True, False):
            config = with_bn(load_config(network, (f"train.steps={(repeats + 1) * chunk}",)), bn)
            flops = step_flops(build_model(config.model, config.bn, config.seed), config.train.batch_size)
            for name in ENGINES:
                started = time.perf_counter()
                run = make_runner(name, config, mnist, chunk)
                run()  # warm-up: tracing and compilation are not timed
                log(f"warm-up {network} {'BN' if bn else 'no BN'} {name}: {time.perf_counter() - started:.1f} s")
                runners[(network, bn, name)] = {"run": run, "flops": flops, "samples": [], "auto": use_jit(config)}
    return runners


def summarise(runners: dict[tuple, dict], roofline: float) -> list[dict]:
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
    """Run every engine on the networks `chunks` names, `repeats` times round-robin after a warm-up.

    Returns the JSON-ready results: per (network, bn, engine) the median steps/s, spread and ratios.
    """
    keras.utils.set_random_seed(0)  # no op determinism: Keras refuses XLA under it, and fit_tuned should have XLA
    runners = make_runners(mnist, repeats, chunks, log)
    roofline_samples = []
    for repeat in range(repeats):
        roofline_samples.append(matmul_gflops())
        for _key, entry in runners.items():
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
        "results": summarise(runners, roofline),
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


def script() -> str:
    """The installed bn-mnist console script of this interpreter's environment."""
    return str(Path(sys.executable).with_name("bn-mnist"))


def wall_seconds(args: list[str], inspected: list[float] | None = None) -> float:
    """Wall time of one command of the installed script, start-up to exit, in a fresh output directory; appends
    each run's `inspect_seconds` (summary.json) to `inspected` when given."""
    with tempfile.TemporaryDirectory(prefix="bn-mnist-bench-") as temporary:
        started = time.perf_counter()
        subprocess.run([script(), *args, "--out", f"{temporary}/out"], check=True, capture_output=True)
        seconds = time.perf_counter() - started
        if inspected is not None:
            summaries = sorted(Path(temporary, "out").glob(f"*/{SUMMARY_FILE}"))
            inspected += [json.loads(path.read_text())["inspect_seconds"] or 0.0 for path in summaries]
        return seconds


FIT_TWO_CONV_NETS = """
import time, keras
from bn_mnist.config import load_config, with_bn
from bn_mnist.data import load_mnist
from bn_mnist.nets.models import build_model
from bn_mnist.tf_startup import start_tensorflow
from bn_mnist.training.engine import make_loss, make_optimizer
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
    return {
        "repeats": repeats,
        "samples": samples,
        "median_seconds": median,
        "compare_vs_fit": median["compare"] / median["fit"],
        "compare_ray_local_vs_fit": median["compare_ray_local"] / median["fit"],
        "ray_start_seconds": median[f"plan{small}_ray_local"]
        - median[f"plan{small}"]
        - small * (ray_per_run - local_per_run),
        "ray_seconds_per_run": ray_per_run - local_per_run,
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


REPLICA_COUNTS = (1, 2, 4)
REPLICA_CHUNKS = {"fc": 300, "conv": 20}  # steps per timed call


def replica_configs(network: str, steps: int) -> dict[str, Config]:
    """The network with BN on one device, and on 2 and 4 mirrored replicas with synchronized and per-replica BN
    (global batch as configured, so every variant trains the same batches)."""
    config = load_config(network, (f"train.steps={steps}",))
    variants = {"1": config}
    for replicas in REPLICA_COUNTS[1:]:
        for sync in (True, False):
            variants[f"{replicas}_{'sync' if sync else 'per_replica'}"] = with_bn_on_replicas(config, replicas, sync)
    return variants


def replica_speed(mnist: Mnist, repeats: int, chunks: dict[str, int] = REPLICA_CHUNKS, log=print) -> dict:
    """Steps/s of the engine on 1, 2 and 4 replicas (logical CPU devices here), synchronized and per-replica BN,
    round-robin over repeats after a warm-up; ratios to one device and the cost of synchronizing BN."""
    runners = {}
    for network, chunk in chunks.items():
        for name, config in replica_configs(network, (repeats + 1) * chunk).items():
            run = engine_runner(config, mnist, config.train.jit, chunk)
            run()  # warm-up: tracing and compilation are not timed
            runners[f"{network}_{name}"] = {"run": run, "samples": []}
            log(f"warm-up {network} {name} done")
    for repeat in range(repeats):
        for entry in runners.values():
            entry["samples"].append(timed(entry["run"]))
        log(f"repeat {repeat + 1}/{repeats} done")
    median = {name: statistics.median(entry["samples"]) for name, entry in runners.items()}
    return {
        "repeats": repeats,
        "chunk_steps": chunks,
        "samples": {name: entry["samples"] for name, entry in runners.items()},
        "steps_per_second": median,
        "vs_one_device": {name: value / median[f"{name.split('_')[0]}_1"] for name, value in median.items()},
        "sync_vs_per_replica": {
            f"{network}_{n}": median[f"{network}_{n}_per_replica"] / median[f"{network}_{n}_sync"]
            for network in chunks
            for n in REPLICA_COUNTS[1:]
        },
    }


def replica_table(results: dict) -> str:
    lines = [f"{'variant':20} {'steps/s':>8} {'vs 1 device':>12}  samples"]
    for name, samples in results["samples"].items():
        lines.append(
            f"{name:20} {results['steps_per_second'][name]:>8.1f} {results['vs_one_device'][name]:>11.2f}x  "
            + ", ".join(f"{v:.1f}" for v in samples)
        )
    costs = ", ".join(f"{name} {ratio:.2f}x" for name, ratio in results["sync_vs_per_replica"].items())
    return "\n".join([*lines, f"time per step, synchronized / per-replica BN: {costs}"])


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per engine (default 3)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench.json"), help="JSON results file")
    parser.add_argument(
        "--end-to-end", action="store_true", help="whole commands instead: compare vs model.fit, Ray's overhead"
    )
    parser.add_argument(
        "--inspection", action="store_true", help="whole compares with log.histograms on and off: its cost"
    )
    parser.add_argument(
        "--replicas", action="store_true", help="the engine on 1, 2 and 4 replicas, synchronized and per-replica BN"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="TensorFlow threads for every engine and the roofline (train.threads is 1; default: TensorFlow's own)",
    )
    args = parser.parse_args()
    start_tensorflow(args.threads, logical_cpus=max(REPLICA_COUNTS) if args.replicas else 1)
    if args.replicas:
        results = replica_speed(load_mnist(), args.repeats)
        print(replica_table(results))
    elif args.end_to_end:
        results = end_to_end(args.repeats)
        print(end_to_end_table(results))
    elif args.inspection:
        results = inspection_cost(args.repeats)
        print(inspection_table(results))
    else:
        results = benchmark(load_mnist(), args.repeats)
        print(console_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
