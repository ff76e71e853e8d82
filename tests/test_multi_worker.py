"""Multi-worker training through the installed script: two `bn-mnist train` processes with TF_CONFIG train one run
whose metrics equal the mirrored run with the same global batch; a worker whose peer never comes gives one line.

TensorFlow's gRPC server listens on every interface (0.0.0.0, hard-coded), so the workers run in a network
namespace of their own (`unshare --net`), where the only interface is the loopback: nothing outside the machine's
127.0.0.1 of that namespace can reach them. The test ends the process group it started, by its id.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.slow
SHORT = ("--config", "fc", "--set", "train.steps=30", "--set", "train.eval_every=10", "--set", "train.log_every=10")
MULTI_WORKER = ("--set", "distribute.strategy=multi_worker", "--set", "distribute.replicas=2")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def run_in_own_network(commands: list[list[str]], envs: list[dict[str, str]], work: Path, timeout: float) -> list[dict]:
    """Run the commands at once in a new network namespace with only the loopback up; returns each one's exit code,
    stdout and stderr. On timeout the namespace's whole process group is killed (by its id) and the test fails."""
    assert shutil.which("unshare") and shutil.which("ip"), "the multi-worker test needs unshare and ip (iproute2)"
    lines = ["ip link set lo up"]
    for i, (command, env) in enumerate(zip(commands, envs)):
        assignments = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        lines.append(f"env {assignments} {shlex.join(command)} > {work}/{i}.out 2> {work}/{i}.err &")
        lines.append(f"pid{i}=$!")
    lines += [f"wait $pid{i}; echo $? > {work}/{i}.rc" for i in range(len(commands))]
    script = work / "workers.sh"
    script.write_text("\n".join(lines) + "\n")
    launcher = subprocess.Popen(["unshare", "--net", "--map-root-user", "sh", str(script)], start_new_session=True)
    try:
        launcher.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
        pytest.fail(f"the workers did not finish within {timeout:g} s")
    return [
        {
            "rc": int((work / f"{i}.rc").read_text()),
            "out": (work / f"{i}.out").read_text(),
            "err": (work / f"{i}.err").read_text(),
        }
        for i in range(len(commands))
    ]


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def without_timing(records: list[dict]) -> list[dict]:
    return [{key: value for key, value in record.items() if "seconds" not in key} for record in records]


def test_two_workers_train_the_mirrored_run(real_mnist, bn_mnist_script, tmp_path):
    """Worker 0 (the chief) writes the run; worker 1 writes nothing the user sees; the metrics at every logged
    step and the saved model (BN's moving statistics included) equal those of `--replicas 2` on one machine (the
    same global batch of 60, 30 per replica)."""
    ports = free_ports(2)
    commands = [[bn_mnist_script, "train", *SHORT, *MULTI_WORKER, "--out", str(tmp_path / f"w{i}")] for i in range(2)]
    envs = [{"TF_CONFIG": tf_config(ports, i)} for i in range(2)]
    results = run_in_own_network(commands, envs, tmp_path, timeout=300)
    assert [r["rc"] for r in results] == [0, 0], results
    assert "final validation accuracy" in results[0]["out"]
    assert not (tmp_path / "w1").exists()
    mirrored = subprocess.run(
        [bn_mnist_script, "train", *SHORT, "--replicas", "2", "--out", str(tmp_path / "mirrored")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "final validation accuracy" in mirrored.stdout
    found, expected = metrics(tmp_path / "w0"), metrics(tmp_path / "mirrored")
    assert [r["step"] for r in found] == [r["step"] for r in expected]
    for got, want in zip(without_timing(found), without_timing(expected)):
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-7), key
    chief, one_machine = (keras.models.load_model(tmp_path / name / "model.keras") for name in ("w0", "mirrored"))
    for saved, expected in zip(chief.weights, one_machine.weights):  # BN's moving statistics included
        np.testing.assert_allclose(saved.numpy(), expected.numpy(), rtol=1e-5, atol=1e-7, err_msg=saved.path)
    summary = json.loads((tmp_path / "w0" / "summary.json").read_text())
    assert summary["replicas"] == 2 and summary["final_val_accuracy"] == found[-1]["val/accuracy"]


def test_a_worker_without_its_peer_gives_one_line_not_a_hang(bn_mnist_script, tmp_path):
    """Worker 0 of two, alone, with distribute.timeout 5 s: one line on stderr, killed (137), nothing written."""
    ports = free_ports(2)
    command = [bn_mnist_script, "train", *SHORT, *MULTI_WORKER, "--set", "distribute.timeout=5"]
    started = time.monotonic()
    (result,) = run_in_own_network(
        [[*command, "--out", str(tmp_path / "run")]], [{"TF_CONFIG": tf_config(ports, 0)}], tmp_path, timeout=120
    )
    assert time.monotonic() - started < 60
    assert result["rc"] == 128 + signal.SIGKILL
    lines = result["err"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bn-mnist: error: multi_worker: worker 0 could not reach"), lines
    assert f"127.0.0.1:{ports[1]}" in lines[0] and "within 5 s" in lines[0]
    assert not (tmp_path / "run").exists()
