"""The run queue hands each free worker a run of the network it keeps while any wait, and spreads workers over keys:
every run once, in order within its key, and no worker building a key another worker could have trained alone. The
local back-end's pools take turns, each with its workers busy and never more runs at a time."""

from __future__ import annotations

import concurrent.futures
import random
import threading
import time
from typing import ClassVar

import pytest

from bn_mnist.core.config import load_config
from bn_mnist.core.training import runner
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

    def hand_out(worker: int, warm: RunSpec | None) -> None:
        spec = queue.take(warm)
        if spec is not None:
            running[worker] = spec
            handed.append(spec.key)
            built[worker].add(trace_key(spec.config))

    for worker in range(workers):
        hand_out(worker, None)
    while running:
        worker = order.choice(sorted(running))
        finished = running.pop(worker)
        queue.done(finished)
        hand_out(worker, finished)
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


def test_a_free_worker_takes_its_own_key_else_an_idle_key_in_order_else_most_waiting_runs_per_worker():
    queue = RunQueue(specs({"100": 1, "50": 2, "20": 6}))
    first, second, third = queue.take(), queue.take(), queue.take()
    assert [first.key, second.key, third.key] == ["100-seed0", "50-seed0", "20-seed0"]  # keys no one is on, in order
    fourth = queue.take()
    assert fourth.key == "20-seed1"  # every key has a worker: 20's 5 waiting for 1 beat 50's 1 for 1
    queue.done(second)
    assert queue.take(second).key == "50-seed1"  # its own key while one waits
    queue.done(first)
    assert queue.take(first).key == "20-seed2"  # 100 has none left; 20's 4 waiting for 2 workers beat nothing


def test_an_empty_queue_hands_out_nothing():
    queue = RunQueue(specs({"100": 1}))
    only = queue.take()
    assert only is not None and len(queue) == 0 and queue.take(only) is None and queue.take() is None
    assert len(RunQueue(specs({"100": 2, "50": 1}))) == 3


class ThreadsAsProcesses(concurrent.futures.ThreadPoolExecutor):
    """The pool's executor with threads for processes, so that the schedule shows without TensorFlow."""

    made: ClassVar[list[int]] = []

    def __init__(self, workers, mp_context, initializer, initargs):
        super().__init__(workers)
        self.made.append(initargs[1])  # the thread count its workers would start TensorFlow with


@pytest.fixture
def schedule(monkeypatch):
    """Runs through LocalBackend on two cores, each a short sleep recorded as (key, threads, start, end)."""
    monkeypatch.setattr(runner.concurrent.futures, "ProcessPoolExecutor", ThreadsAsProcesses)
    monkeypatch.setattr(runner, "cores", lambda: 2)
    monkeypatch.setattr(ThreadsAsProcesses, "made", [])
    spans, lock = [], threading.Lock()

    def train_one(config, probe, run_dir):
        start = time.perf_counter()
        time.sleep(0.2 if config.train.threads > 1 else 0.05)
        with lock:
            spans.append((run_dir.name, config.train.threads, start, time.perf_counter()))

    monkeypatch.setattr(runner.worker, "train_one", train_one)
    return spans


def overlapping(spans) -> int:
    """The most runs running at one time."""
    return max(sum(s <= start < e for _, _, s, e in spans) for _, _, start, _ in spans)


def test_pools_train_one_after_another_never_more_runs_than_their_workers(schedule, tmp_path):
    todo = [*specs({"100": 3, "50": 3}), RunSpec("threads2", load_config("fc", ("train.threads=2",)))]
    done = []
    runner.LocalBackend().train(todo, tmp_path, None, lambda _: None, lambda spec, _: done.append(spec.key))
    assert sorted(done) == sorted(spec.key for spec in todo)
    assert ThreadsAsProcesses.made == [1, 2]  # a pool of 1-thread workers, then one of a 2-thread worker
    (two,) = [span for span in schedule if span[1] == 2]
    assert all(end <= two[2] for _, threads, _, end in schedule if threads == 1)  # TensorFlow's threads are fixed
    assert overlapping([span for span in schedule if span[1] == 1]) == 2  # its two workers busy, never more


def test_a_pool_renews_its_processes_after_runs_per_worker_runs_each(schedule, monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "RUNS_PER_WORKER", 2)
    todo = specs({"100": 5})
    runner.LocalBackend().train(todo, tmp_path, None, lambda _: None, lambda spec, _: None)
    assert ThreadsAsProcesses.made == [1, 1]  # 2 workers x 2 runs, then fresh ones for the fifth
    assert len(schedule) == 5
