"""What the benchmarks share: one engine's runner, a timed call, and the machine's matmul roofline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import tensorflow as tf

from bn_mnist.core.config import Config
from bn_mnist.core.data import Mnist
from bn_mnist.core.training import distribution
from bn_mnist.core.training.engine import build_engine

MATMUL_N = 4096


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


def engine_samples(
    configs: dict[str, tuple[Config, int]], mnist: Mnist, repeats: int, log: Callable[[str], object]
) -> dict[str, list[float]]:
    """Steps/s of the engine for each named (config, steps per call), warmed up once (tracing and compilation are
    not timed), then `repeats` rounds round-robin so that the machine's drifts hit every config alike."""
    runners = {}
    for name, (config, chunk) in configs.items():
        runners[name] = engine_runner(config, mnist, config.train.jit, chunk)
        runners[name]()
        log(f"warm-up {name} done")
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for repeat in range(repeats):
        for name, run in runners.items():
            samples[name].append(timed(run))
        log(f"repeat {repeat + 1}/{repeats} done")
    return samples
