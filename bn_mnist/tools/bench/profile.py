"""Where a conv training step's time goes, layer by layer: TensorFlow's profiler records every op of a chunk of the
engine's steps; each op is charged to the layer its name carries (`conv<i>`, its `bn_`, `act_`), to its part
(convolution, normalization, activation) and to forward or backward (the gradient tape's ops), and set against the
layer's FLOPs. What no layer's name carries is the optimizer's update, the gradients' sums and the loss."""

from __future__ import annotations

import collections
import re
import statistics
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from bn_mnist.core.config import Config, load_config, with_bn
from bn_mnist.core.data import Mnist
from bn_mnist.core.nets import naming
from bn_mnist.core.nets.models import build_model
from bn_mnist.tools.bench.timing import engine_runner

PROFILED_STEPS = 30  # steps per profiled call
LAYER = re.compile(r"/(bn_|act_)?(conv\d+|dense\d+|logits)(?:_\d+)?/")
PARTS = {None: "weights", "bn_": "bn", "act_": "activation"}
OPTIMIZER = re.compile(r"/(adam|sgd)(?:_\d+)?/")  # Keras numbers a process's later optimizers: adam_1, ...
PRODUCTS = ("Conv2D", "MatMul")  # op types of a layer's product; Grappler fuses conv+bias+ReLU under the ReLU's name


def layer_flops(layer: keras.layers.Layer, batch_size: int) -> tuple[int, int]:
    """A weighted layer's forward FLOPs per step as computed (every kernel tap) and as useful (taps that meet a
    pixel of the input map: a 3x3 'same' convolution on a 1x1 map is a 1x1 one)."""
    kernel = layer.kernel.shape
    if isinstance(layer, keras.layers.Dense):
        flops = 2 * int(kernel[0]) * int(kernel[1]) * batch_size
        return flops, flops
    height, width = layer.output.shape[1:3]
    taps = min(int(kernel[0]), height) * min(int(kernel[1]), width)
    per_tap = 2 * height * width * int(kernel[2]) * int(kernel[3]) * batch_size
    return per_tap * int(kernel[0]) * int(kernel[1]), per_tap * taps


def op_times(trace_dir: Path) -> dict[str, float]:
    """Seconds per op name (summed over its calls) from the profiler's XSpace in `trace_dir`."""
    space = xplane_pb2.XSpace()
    space.ParseFromString(next(trace_dir.rglob("*.xplane.pb")).read_bytes())
    times: dict[str, float] = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" in name and not name.startswith("ExecutorState"):  # an op ("scope/op:Type"), not the executor
                    times[name] += event.duration_ps * 1e-12
    return times


def charge(name: str) -> tuple[str, str, str]:
    """(layer, part, direction) an op's time is charged to."""
    scope, _, op_type = name.rpartition(":")
    direction = "backward" if "gradient_tape/" in scope else "forward"
    found = LAYER.search(scope)
    if found:
        part = "weights" if any(product in op_type for product in PRODUCTS) else PARTS[found.group(1)]
        return found.group(2), part, direction
    return ("optimizer" if OPTIMIZER.search(scope) else "other"), "", direction


def profiled_chunk(run) -> tuple[float, dict[str, float]]:
    """Wall seconds of one call of `run` under the profiler, and its ops' seconds by name."""
    with tempfile.TemporaryDirectory(prefix="bn-mnist-profile-") as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        started = time.perf_counter()
        run()
        wall = time.perf_counter() - started
        tf.profiler.experimental.stop()
        return wall, op_times(Path(trace_dir))


def conv_profile(mnist: Mnist, repeats: int, log=print) -> dict:
    """The conv net with and without BN, each profiled by `network_profile`."""
    profiles = {}
    for bn in (True, False):
        config = with_bn(load_config("conv", (f"train.steps={(2 * repeats + 1) * PROFILED_STEPS}",)), bn)
        profiles["bn" if bn else "no_bn"] = network_profile(config, mnist, repeats, log)
    return {"steps_per_chunk": PROFILED_STEPS, "repeats": repeats, "profiles": profiles}


def network_profile(config: Config, mnist: Mnist, repeats: int, log) -> dict:
    """`repeats` profiled chunks of PROFILED_STEPS steps after a warm-up, each after an unprofiled one (the
    profiler's own cost shows as the difference); per layer, part and direction the median milliseconds a step,
    and each layer's FLOPs."""
    run = engine_runner(config, mnist, config.train.jit, PROFILED_STEPS)
    run()  # warm-up: tracing
    walls: dict[str, list[float]] = {"plain": [], "profiled": []}
    charged: dict[str, list[float]] = collections.defaultdict(list)
    for repeat in range(repeats):
        started = time.perf_counter()
        run()
        walls["plain"].append(time.perf_counter() - started)
        wall, times = profiled_chunk(run)
        walls["profiled"].append(wall)
        per_step: dict[str, float] = collections.Counter()
        for name, seconds in times.items():
            per_step["/".join(charge(name))] += seconds * 1e3 / PROFILED_STEPS
        for key in set(per_step) | set(charged):
            charged[key].append(per_step.get(key, 0.0))
        label = "BN" if config.bn.enabled else "no BN"
        log(f"conv, {label}, repeat {repeat + 1}/{repeats}: {walls['plain'][-1]:.2f} s, profiled {wall:.2f} s")
    return {
        "step_ms": statistics.median(walls["plain"]) * 1e3 / PROFILED_STEPS,
        "profiled_step_ms": statistics.median(walls["profiled"]) * 1e3 / PROFILED_STEPS,
        "op_ms": {key: statistics.median(values) for key, values in sorted(charged.items())},
        "layers": layer_table(build_model(config.model, config.bn, config.seed), config.train.batch_size),
    }


def layer_table(model: keras.Model, batch_size: int) -> dict[str, dict]:
    """Per weighted layer: its output map, channels and forward FLOPs per step."""
    table = {}
    for layer in naming.weighted_layers(model):
        computed, useful = layer_flops(layer, batch_size)
        shape = layer.output.shape
        table[layer.name] = {
            "map": int(shape[1]) if len(shape) == 4 else None,
            "channels": [int(layer.kernel.shape[-2]), int(layer.kernel.shape[-1])],
            "forward_mflop": computed / 1e6,
            "useful_forward_mflop": useful / 1e6,
        }
    return table


def profile_table(results: dict) -> str:
    """Per BN setting, the layers' milliseconds per step (forward / backward) beside their useful FLOPs, then the
    step's total."""
    lines = []
    for setting, profile in results["profiles"].items():
        ms = collections.Counter(profile["op_ms"])
        lines += [
            f"conv {setting}: {profile['step_ms']:.1f} ms a step ({profile['profiled_step_ms']:.1f} profiled), "
            f"ops {sum(ms.values()):.1f} ms",
            f"{'layer':7} {'map':>4} {'channels':>9} {'MFLOP':>7} {'conv f/b ms':>12} {'GFLOP/s':>8} "
            f"{'BN f/b ms':>10} {'act ms':>7}",
        ]
        for layer, row in profile["layers"].items():
            conv = ms[f"{layer}/weights/forward"], ms[f"{layer}/weights/backward"]
            rate = 3 * row["useful_forward_mflop"] / sum(conv) if sum(conv) else 0.0
            bn = ms[f"{layer}/bn/forward"], ms[f"{layer}/bn/backward"]
            act = ms[f"{layer}/activation/forward"] + ms[f"{layer}/activation/backward"]
            lines.append(
                f"{layer:7} {row['map'] or '':>4} {'{}>{}'.format(*row['channels']):>9} "
                f"{row['useful_forward_mflop']:>7.1f} {conv[0]:>5.2f}/{conv[1]:<6.2f} {rate:>8.1f} "
                f"{bn[0]:>4.2f}/{bn[1]:<5.2f} {act:>7.2f}"
            )
        lines.append(shares_line(profile))
    return "\n".join(lines)


def shares_line(profile: dict) -> str:
    """Each part's share of the ops' time (weights: the layers' products and biases), and the share of the layers
    on maps of 2x2 or less in the ops' time and in the useful FLOPs."""
    ms, total = profile["op_ms"], sum(profile["op_ms"].values())
    parts: dict[str, float] = collections.Counter()
    for key, value in ms.items():
        layer, part, _ = key.split("/")
        parts[part or layer] += value
    small = [layer for layer, row in profile["layers"].items() if row["map"] and row["map"] <= 2]
    small_ms = sum(value for key, value in ms.items() if key.split("/")[0] in small)
    flops = {layer: row["useful_forward_mflop"] for layer, row in profile["layers"].items()}
    shown = ", ".join(f"{part} {value / total:.0%}" for part, value in sorted(parts.items(), key=lambda kv: -kv[1]))
    return (
        f"shares of the ops' time: {shown}; layers on maps of 2x2 or less: {small_ms / total:.0%} of the time for "
        f"{sum(flops[layer] for layer in small) / sum(flops.values()):.1%} of the useful FLOPs"
    )


def bn_free_bound(results: dict, engines_results: dict) -> str:
    """What the conv+BN engine would reach against `fit` if BN's work cost nothing: the no-BN step's time, from a
    profile and an engine benchmark (`engines.benchmark`, network conv) of the same day."""
    rates = {(row["bn"], row["engine"]): row["steps_per_second"] for row in engines_results["results"]}
    steps = {setting: profile["step_ms"] for setting, profile in results["profiles"].items()}
    bound = rates[(True, "engine_jit_off")] * steps["bn"] / steps["no_bn"]
    return (
        f"if BN cost nothing, a conv+BN step would take the no-BN step's {steps['no_bn']:.1f} ms instead of "
        f"{steps['bn']:.1f} ms: {bound:.1f} steps/s, {bound / rates[(True, 'fit_default')]:.2f}x `fit` default"
    )
