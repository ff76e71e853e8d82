"""Steps/s of the engine per normalization and BN-free init (`compare --arms norms`), as ratios to Keras BN
measured in one run, round-robin over repeats after a warm-up."""

from __future__ import annotations

import statistics

from bn_mnist.core.config import load_config
from bn_mnist.core.data import Mnist
from bn_mnist.lab.arms import BN, norm_arms
from bn_mnist.tools.bench.timing import engine_samples

NORM_CHUNKS = {"fc": 300, "conv": 20}  # steps per timed call


def norm_speed(mnist: Mnist, repeats: int, chunks: dict[str, int] = NORM_CHUNKS, log=print) -> dict:
    """Per network and arm (`<network>_<arm key>`): the median steps/s and its ratio to BN (Keras) on that network."""
    configs = {}
    for network, chunk in chunks.items():
        base = load_config(network, (f"train.steps={(repeats + 1) * chunk}",))
        configs |= {f"{network}_{arm.key}": (arm.configure(base), chunk) for arm in norm_arms(network)}
    samples = engine_samples(configs, mnist, repeats, log)  # LSUV runs at the build, before the warm-up
    return {"repeats": repeats, "chunk_steps": chunks, **ratios(samples)}


def ratios(samples: dict[str, list[float]]) -> dict:
    """Median steps/s per `<network>_<arm>` and its ratio to `<network>_bn`."""
    median = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "samples": samples,
        "steps_per_second": median,
        "vs_bn": {name: value / median[f"{name.split('_')[0]}_{BN.key}"] for name, value in median.items()},
    }


def norm_table(results: dict) -> str:
    lines = [f"{'network and arm':20} {'steps/s':>8} {'vs BN':>7}  samples"]
    for name, samples in results["samples"].items():
        lines.append(
            f"{name:20} {results['steps_per_second'][name]:>8.1f} {results['vs_bn'][name]:>6.2f}x  "
            + ", ".join(f"{v:.1f}" for v in samples)
        )
    return "\n".join(lines)
