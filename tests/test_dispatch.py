"""The run queue hands each free worker a run of the network it keeps while any wait, and spreads workers over keys:
every run once, in order within its key, and no worker building a key another worker could have trained alone."""

from __future__ import annotations

import random

import pytest

from bn_mnist.core.config import load_config
from bn_mnist.core.training.dispatch import RunQueue
from bn_mnist.core.training.runspec import RunSpec, trace_key


def specs(runs_per_key: dict[str, int]) -> list[RunSpec]:
    """Runs of networks that differ in their batch size (a traced shape), seeds in order."""
    return [
        RunSpec(f"{batch}-seed{seed}", load_config("fc", (f"train.batch_size={batch}", f"seed={seed}")))
        for batch, runs in runs_per_key.items()
        for seed in range(runs)
    ]


def simulate(todo: list[RunSpec], workers: int, order: random.Random) -> tuple[list[str], list[set[str]]]:
    """Hand out every run to `workers` workers that finish in a random order; returns the runs in the order they
    were handed out and the keys each worker built."""
    queue, handed, built = RunQueue(todo), [], [set() for _ in range(workers)]
    running: dict[int, RunSpec] = {}

    def hand_out(worker: int, after: RunSpec | None) -> None:
        spec = queue.take(after)
        if spec is not None:
            running[worker] = spec
            handed.append(spec.key)
            built[worker].add(trace_key(spec.config))

    for worker in range(workers):
        hand_out(worker, None)
    while running:
        worker = order.choice(sorted(running))
        hand_out(worker, running.pop(worker))
    return handed, built


@pytest.mark.parametrize("seed", range(20))
def test_every_run_is_handed_out_once_in_order_within_its_key(seed):
    todo = specs({"100": 5, "50": 3, "20": 1})
    handed, _ = simulate(todo, 2, random.Random(seed))
    assert sorted(handed) == sorted(spec.key for spec in todo)
    for width in ("100", "50"):
        mine = [key for key in handed if key.startswith(f"{width}-")]
        assert mine == sorted(mine, key=lambda key: int(key.rsplit("seed", 1)[1]))


class RoundRobin(random.Random):
    """Workers of one speed: they finish in turn."""

    turn = -1

    def choice(self, seq):
        self.turn += 1
        return seq[self.turn % len(seq)]


def test_two_keys_on_two_workers_of_one_speed_build_each_key_once():
    """compare's shape: the BN and the plain net over seeds; each worker keeps one network for all its runs."""
    _, built = simulate(specs({"100": 8, "50": 8}), 2, RoundRobin())
    assert sorted(map(len, built)) == [1, 1] and built[0] != built[1]


@pytest.mark.parametrize("seed", range(20))
def test_a_worker_builds_a_second_key_only_when_its_first_ran_out(seed):
    """Whatever the finishing order, the two workers start on different keys and at most one joins the other's."""
    _, built = simulate(specs({"100": 8, "50": 8}), 2, random.Random(seed))
    assert sum(map(len, built)) <= 3 and built[0] != built[1]


def test_a_free_worker_takes_its_own_key_else_the_key_with_most_waiting_runs_per_worker():
    queue = RunQueue(specs({"100": 1, "50": 2, "20": 6}))
    first = queue.take()
    assert first is not None and first.key == "20-seed0"  # the most waiting runs
    assert queue.take().key == "20-seed1"  # 5 waiting for 2 workers beat 50's 2 for 1
    assert queue.take(first).key == "20-seed2"  # its own key while one waits
    third = queue.take()
    assert third is not None and third.key == "50-seed0"  # 20's 3 waiting for 3 workers < 50's 2 for 1
    assert queue.take(third).key == "50-seed1"


def test_an_empty_queue_hands_out_nothing():
    queue = RunQueue(specs({"100": 1}))
    only = queue.take()
    assert only is not None and queue.take(only) is None and queue.take() is None
