"""The Ray back-end on a real two-node Ray cluster on 127.0.0.1, started and shut down here: the same numbers as
the local runner, a node removed mid-plan, Ctrl-C and resume through the installed script, one writer per output
directory; the one-line errors without Ray or without a reachable cluster; cluster addresses, and a returned run
that lands whole or not at all."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHORT_BUDGET

from bn_mnist.cli import main
from bn_mnist.core import runfiles
from bn_mnist.core.errors import ClusterError
from bn_mnist.core.outdir import LOCK_FILE
from bn_mnist.core.tensorboard import tags
from bn_mnist.core.training import ray_backend, runner
from bn_mnist.lab import pipeline
from bn_mnist.lab.study import choose
from bn_mnist.studies.explain import common
from bn_mnist.studies.explain import study as explain_study
from bn_mnist.studies.reproduce.study import STUDY

NODE = {"num_cpus": 1, "node_ip_address": "127.0.0.1", "object_store_memory": 400 * 2**20}
QUICK = ("reproduce", "pitfall", "--quick", "--seeds", "3")  # six ~1 s runs of the Lesson's net on real MNIST
# (the pitfall trains two nets per seed)


class TwoNodes:
    """A head and a worker node of one CPU each, all listening on 127.0.0.1."""

    def __init__(self) -> None:
        from ray.cluster_utils import Cluster

        self.cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
        self.worker = self.cluster.add_node(**NODE)
        self.cluster.wait_for_nodes()
        self.address = self.cluster.address

    def shutdown(self) -> None:
        self.cluster.shutdown()  # ends exactly the processes this cluster started


@pytest.fixture(scope="module")
def cluster():
    nodes = TwoNodes()
    yield nodes
    nodes.shutdown()


def connected(address: str) -> runner.Backend:
    return runner.backend(address, None)


def disconnect() -> None:
    import ray

    ray.shutdown()


def run_files(out, specs):
    """Every run's metrics.jsonl values and summary outcome, without wall-clock fields."""
    return {
        spec.key: (
            runfiles.read_metrics(out / spec.key),
            {
                k: v
                for k, v in json.loads((out / spec.key / runfiles.SUMMARY_FILE).read_text()).items()
                if k not in runfiles.WALL_CLOCK_FIELDS
            },
        )
        for spec in specs
    }


@pytest.fixture(scope="module")
def local_plan(tiny_mnist, short_plan, tmp_path_factory):
    """The small reproduction plan of test_reproduce_run, trained by the local runner."""
    out = tmp_path_factory.mktemp("local")
    results = pipeline.run(
        STUDY, ("pitfall", "paper"), SHORT_BUDGET, out, log=lambda _: None, plan=short_plan, mnist=tiny_mnist
    )
    return out, results


@pytest.mark.slow
def test_a_plan_on_the_cluster_equals_the_local_runner(cluster, local_plan, tiny_mnist, short_plan, tmp_path):
    local_out, local_results = local_plan
    lines = []
    try:
        results = pipeline.run(
            STUDY,
            ("pitfall", "paper"),
            SHORT_BUDGET,
            tmp_path,
            backend=connected(cluster.address),
            log=lines.append,
            plan=short_plan,
            mnist=tiny_mnist,
        )
    finally:
        disconnect()
    assert "training 8 runs on the Ray cluster at" in lines[1] and "(2 CPUs on 2 node(s))" in lines[1]
    assert run_files(tmp_path, short_plan.specs()) == run_files(local_out, short_plan.specs())
    assert results.numbers == local_results.numbers and results.remarks == local_results.remarks
    assert not list(tmp_path.rglob("*.incoming")) and not (tmp_path / LOCK_FILE).exists()


def runs_training_on(node) -> int:
    """How many of node's Ray worker processes run a training task now (Ray titles them ray::train_task then)."""
    raylets = {process.pid for kind, process in node.live_processes() if kind == "raylet"}
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            title = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        count += parent in raylets and title.startswith(b"ray::train_task")
    return count


@pytest.mark.slow
def test_a_node_removed_mid_plan_loses_no_run(local_plan, tiny_mnist, short_plan, tmp_path):
    """The worker node is removed while it trains a run: that run is trained again on the head."""
    nodes = TwoNodes()
    removed = threading.Event()

    def remove_while_training() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not runs_training_on(nodes.worker):
            time.sleep(0.05)
        if runs_training_on(nodes.worker):
            nodes.cluster.remove_node(nodes.worker)
            removed.set()

    remover = threading.Thread(target=remove_while_training, daemon=True)
    remover.start()
    lines = []
    try:
        pipeline.run(
            STUDY,
            ("pitfall", "paper"),
            SHORT_BUDGET,
            tmp_path,
            backend=connected(nodes.address),
            log=lines.append,
            plan=short_plan,
            mnist=tiny_mnist,
        )
    finally:
        disconnect()
        remover.join(timeout=310)
        nodes.shutdown()
    assert removed.is_set(), "the worker node never trained a run"
    assert not any("lost on the cluster" in line for line in lines), lines
    assert run_files(tmp_path, short_plan.specs()) == run_files(local_plan[0], short_plan.specs())


def start(script, args, out, cwd):
    return subprocess.Popen(
        [script, *args, "--out", str(out)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_ctrl_c_on_the_cluster_keeps_finished_runs_and_the_rerun_resumes(
    cluster, real_mnist, bn_mnist_script, tmp_path
):
    out = tmp_path / "quick"
    process = start(bn_mnist_script, [*QUICK, "--ray", cluster.address], out, tmp_path)
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("[1/"):
            process.send_signal(signal.SIGINT)
            break
    _, rest = process.communicate(timeout=300)
    stderr = "".join(seen) + rest
    assert process.returncode == 130, stderr
    finished = int(re.search(r"bn-mnist: interrupted: (\d+) of 6 runs are finished in ", stderr).group(1))
    assert (
        finished >= 1
        and stderr.strip().splitlines()[-1].endswith(" to resume")
        and "run the same command with --out " in stderr
    )
    on_disk = [path.parent for path in out.rglob(runfiles.SUMMARY_FILE)]
    assert len(on_disk) == finished and not list(out.rglob("*.incoming"))

    resumed = subprocess.run(
        [bn_mnist_script, *QUICK, "--ray", cluster.address, "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{finished} of 6 runs already finished" in resumed.stderr
    assert "report:" in resumed.stdout and len(list(out.rglob(runfiles.SUMMARY_FILE))) == 6


COMPARE = ("compare", "--config", "fc", "--set", "train.steps=20000")  # two runs long enough to hold the lock


@pytest.mark.parametrize(("where", "command"), [("ray", QUICK), ("local", COMPARE)])
def test_one_writer_per_output_directory(where, command, request, real_mnist, bn_mnist_script, tmp_path):
    """A second command on the same directory, while the first writes there, refuses in one line naming the
    holder and changes nothing; the first finishes undisturbed. Every multi-run command takes the lock in the same
    `lab.runs.trained`, on either back-end: one command on each is run."""
    ray = ["--ray", request.getfixturevalue("cluster").address] if where == "ray" else []
    out = tmp_path / "out"
    first = start(bn_mnist_script, [*command, *ray], out, tmp_path)
    while not (out / LOCK_FILE).exists():
        assert first.poll() is None, first.communicate()[1]
        time.sleep(0.05)
    second = subprocess.run(
        [bn_mnist_script, *command, *ray, "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert second.returncode == 1, second.stderr
    assert re.fullmatch(
        rf"bn-mnist: error: {re.escape(str(out))} is in use by pid {first.pid} on \S+ since \S+ \(.*\): wait for it "
        r"to end or choose another --out \(nothing was changed\)",
        second.stderr.strip(),
    ), second.stderr
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    assert "unfinished, training it again" not in stderr and not (out / LOCK_FILE).exists()


def test_a_lock_left_by_a_killed_command_does_not_hold(real_mnist, bn_mnist_script, tmp_path):
    """SIGKILL leaves the lock file behind, but the OS released the lock: the next command goes ahead."""
    out, short = tmp_path / "out", ("compare", "--config", "fc", "--set", "train.steps=200")
    first = start(bn_mnist_script, short, out, tmp_path)
    while not (out / LOCK_FILE).exists():
        time.sleep(0.05)
    first.kill()
    first.communicate(timeout=60)
    assert (out / LOCK_FILE).exists()
    again = subprocess.run(
        [bn_mnist_script, *short, "--out", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_cluster_is_one_line_and_nothing_is_written(tmp_path):
    out = tmp_path / "out"
    address = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["compare", "--ray", address, "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"bn-mnist: error: cannot reach a Ray cluster at {address} (Connection refused); start one with `ray start "
        "--head`, or check the address (nothing was written)"
    )
    assert not out.exists()


@pytest.mark.parametrize("command", [["compare"], ["reproduce", "pitfall"]])
def test_without_ray_the_flag_says_how_to_install_it(command, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as without the extra
    result = CliRunner().invoke(main, [*command, "--ray", "auto", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "bn-mnist: error: --ray needs Ray, which is not installed: pip install 'bn-mnist[ray]'"
    )
    assert not (tmp_path / "out").exists()


def test_ray_address_comes_from_the_environment_as_ray_users_expect(monkeypatch, tmp_path):
    monkeypatch.setenv("RAY_ADDRESS", "not-an-address")
    result = CliRunner().invoke(main, ["reproduce", "pitfall", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--ray 'not-an-address': expected auto, local or HOST:PORT" in result.output


@pytest.mark.slow
def test_explains_probed_runs_on_the_cluster_equal_the_local_runner(cluster, tiny_mnist, tmp_path):
    """The landscape study's runs carry their probe's maker into the Ray workers; its numbers are the local
    runner's."""
    short = {"steps": 40, "eval_every": 10, "log_every": 10}
    specs = [
        dataclasses.replace(
            spec, config=dataclasses.replace(spec.config, train=dataclasses.replace(spec.config.train, **short))
        )
        for spec in explain_study.plan(("landscape",), choose(common.BUDGETS, 1, quick=True)).specs()  # BN, none, noisy
    ]
    runner.run_all(specs, tmp_path / "local", tiny_mnist, lambda _: None)
    try:
        runner.run_all(specs, tmp_path / "ray", tiny_mnist, lambda _: None, connected(cluster.address))
    finally:
        disconnect()
    on_ray, local = run_files(tmp_path / "ray", specs), run_files(tmp_path / "local", specs)
    assert on_ray == local
    beta = tags.landscape_tag(tags.LANDSCAPE, tags.BETA)
    assert all(beta in record for metrics, _ in local.values() for record in metrics)


def test_a_returned_run_lands_whole(tmp_path):
    run_dir = tmp_path / "group" / "bn-seed0"
    run_dir.parent.mkdir()
    (run_dir.parent / ".bn-seed0.incoming").mkdir()  # left by a driver killed mid-write
    ray_backend.write_run(run_dir, {"summary.json": b"{}", "sub/events": b"\x00\x01"})
    assert (run_dir / "summary.json").read_bytes() == b"{}" and (run_dir / "sub" / "events").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["bn-seed0"]


@pytest.mark.parametrize(
    ("address", "parsed"),
    [("10.0.0.5:6379", ("10.0.0.5", 6379)), ("[::1]:6379", ("::1", 6379)), ("head:1", ("head", 1))],
)
def test_cluster_addresses(address, parsed):
    assert ray_backend.host_and_port(address) == parsed


@pytest.mark.parametrize("address", ["head", ":6379", "head:port"])
def test_a_malformed_cluster_address_is_one_line(address):
    with pytest.raises(ClusterError, match="expected auto, local or HOST:PORT"):
        ray_backend.host_and_port(address)


def test_loopback_hosts():
    assert [ray_backend.is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "10.0.0.5", "head")] == [
        True,
        True,
        True,
        False,
        False,
    ]
