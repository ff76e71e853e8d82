"""Steps/s of the engine on 1, 2 and 4 replicas (logical CPU devices here), synchronized and per-replica BN: the
path to GPUs, and what synchronizing BN costs."""

from __future__ import annotations

import statistics

from bn_mnist.core.config import Config, load_config, with_bn_on_replicas
from bn_mnist.core.data import Mnist
from bn_mnist.tools.bench.timing import engine_samples

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
    configs = {
        f"{network}_{name}": (config, chunk)
        for network, chunk in chunks.items()
        for name, config in replica_configs(network, (repeats + 1) * chunk).items()
    }
    samples = engine_samples(configs, mnist, repeats, log)
    return {"repeats": repeats, "chunk_steps": chunks, **ratios(samples)}


def ratios(samples: dict[str, list[float]]) -> dict:
    """Per variant (`<network>_<replicas>[_sync|_per_replica]`) the median steps/s, its ratio to the network on one
    device, and per network and replica count the time per step of synchronized BN over per-replica BN."""
    median = {name: statistics.median(values) for name, values in samples.items()}
    networks = sorted({name.split("_")[0] for name in samples})
    return {
        "samples": samples,
        "steps_per_second": median,
        "vs_one_device": {name: value / median[f"{name.split('_')[0]}_1"] for name, value in median.items()},
        "sync_vs_per_replica": {
            f"{network}_{n}": median[f"{network}_{n}_per_replica"] / median[f"{network}_{n}_sync"]
            for network in networks
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
