"""The runner's Ray back-end: each run is a Ray task on whichever node has the CPUs it asks for.

Nodes share no filesystem. MNIST goes into Ray's object store once (put by this driver) and every task reads it
from there; a task trains into a temporary directory on its node and returns the finished run's files, which this
driver writes into the output directory under a temporary name and renames into place. A task asks for as many
CPUs as its run has TensorFlow threads, so no node is oversubscribed. A node that dies takes its running tasks with
it: Ray runs them again elsewhere (`RETRIES` times); a run lost even so is reported, and the finished ones stay.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from bn_mnist.core import provenance, tf_startup
from bn_mnist.core.console import Log
from bn_mnist.core.data import Mnist
from bn_mnist.core.errors import BnMnistError, ClusterError
from bn_mnist.core.files import write_error
from bn_mnist.core.interrupts import ctrl_c_requests_stop
from bn_mnist.core.runfiles import RunSummary
from bn_mnist.core.tf_startup import filtered_stderr, start_tensorflow
from bn_mnist.core.training import worker
from bn_mnist.core.training.runner import POLL_SECONDS, Finished, RunSpec
from bn_mnist.core.training.runspec import trace_key

INSTALL_HINT = "pip install 'bn-mnist[ray]'"
RETRIES = 3  # Ray's own default for a task whose worker or node died
CANCEL_SECONDS = 60  # after Ctrl-C, how long running tasks get to stop at their next chunk
CONNECT_SECONDS = 5


def by_trace_key(todo: list[RunSpec]) -> list[RunSpec]:
    """The runs of one trace key together, keys in the order they first come and runs in the given order within
    each, the order they are submitted in: a Ray worker's kept network (`warm.Engines`) then serves its
    next runs (a local pool's free worker picks its own: `dispatch.RunQueue`)."""
    groups: dict[str, list[RunSpec]] = {}
    for spec in todo:
        groups.setdefault(trace_key(spec.config), []).append(spec)
    return [spec for group in groups.values() for spec in group]


def import_ray() -> Any:
    """Ray, or a ClusterError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def host_and_port(address: str) -> tuple[str, int]:
    """('10.0.0.5', 6379) from '10.0.0.5:6379'.

    Raises:
        ClusterError: not HOST:PORT.
    """
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address!r}: expected auto, local or HOST:PORT of a Ray cluster's head")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_reachable(host: str, port: int) -> None:
    """A quick TCP connection to the head first: Ray itself retries an unreachable address for a minute."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS):
            pass
    except OSError as error:
        raise ClusterError(
            f"cannot reach a Ray cluster at {host}:{port} ({error.strerror or error}); start one with "
            "`ray start --head`, or check the address (nothing was written)"
        ) from None


def head_address(ray: Any, address: str) -> str:
    """HOST:PORT of the cluster to join: address itself, or for `auto` the one Ray finds ($RAY_ADDRESS, or the
    cluster last started on this machine)."""
    if address != "auto":
        return address
    found = ray._private.services.get_ray_address_from_environment("auto", None)
    if not found or found == "auto":
        raise ClusterError("--ray auto: no Ray cluster was started on this machine (start one with `ray start --head`)")
    return found


def connect(address: str) -> Any:
    """Ray, connected to the cluster at address (`local`: a new one-machine instance)."""
    ray = import_ray()
    if address != "local":
        address = head_address(ray, address)
        host, port = host_and_port(address)
        check_reachable(host, port)
        # One connection attempt (~35 s when the address answers but is no Ray head), not Ray's 20 retries.
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "1")
        if is_loopback(host):
            # Ray replaces a loopback head address by this machine's outward IP, where a cluster on 127.0.0.1 does
            # not listen (ray-project/ray#59110); this switch makes Ray keep the loopback address for this driver.
            ray._private.ray_constants.ENABLE_RAY_CLUSTER = False
    failed: list[Exception] = []
    with filtered_stderr(lambda lines: [] if failed else lines):  # Ray's C++ retry lines: the error says it all
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as error:
            failed.append(error)
    if failed:
        raise ClusterError(
            f"cannot connect to the Ray cluster at {address}: {failed[0]}{auth_hint()} (nothing was written)"
        )
    return ray


def auth_hint() -> str:
    """Ray >= 2.59 turns token authentication on for clusters made with `ray start`; a driver must then opt in."""
    if os.environ.get("RAY_AUTH_MODE") == "token":
        return ""
    return "; if the cluster uses token authentication, set RAY_AUTH_MODE=token and give its token (RAY_AUTH_TOKEN)"


def train_task(config: Any, probe: Any, mnist: Mnist, threads: int) -> tuple[RunSummary, dict[str, bytes]]:
    """One run inside a Ray worker: trained into a temporary directory; returns its summary and its files."""
    start_tensorflow(threads, config.distribute)  # the first run in this worker process starts TensorFlow
    provenance.current()  # the code this node runs, known before the run starts (its own copy of bn-mnist)
    with tempfile.TemporaryDirectory(prefix="bn-mnist-run-") as temporary:
        run_dir = Path(temporary) / "run"
        summary = worker.train_logged(config, probe, run_dir, mnist)
        files = {str(path.relative_to(run_dir)): path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    return summary, files


def write_run(run_dir: Path, files: dict[str, bytes]) -> None:
    """A returned run's files into run_dir, whole or not at all: written under a temporary name, then renamed."""
    incoming = run_dir.with_name(f".{run_dir.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    try:
        for name, data in files.items():
            path = incoming / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.rename(incoming, run_dir)
    except OSError as error:
        shutil.rmtree(incoming, ignore_errors=True)
        raise write_error(run_dir, error) from None


def lost_line(spec: RunSpec, error: Exception) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{spec.key}: lost on the cluster after {RETRIES} retries ({type(error).__name__}: {first_line})"


class RayBackend:
    """Runs as Ray tasks on the cluster at `address` (connected when made: a bad address fails before anything is
    written)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.ray = connect(address)
        self.task = self.ray.remote(train_task)

    def train(self, todo: list[RunSpec], out_dir: Path, mnist: Mnist, log: Log, finished: Finished) -> None:
        ray = self.ray
        nodes = sum(node["Alive"] for node in ray.nodes())
        log(
            f"training {len(todo)} runs on the Ray cluster at {self.address} "
            f"({ray.cluster_resources().get('CPU', 0):.0f} CPUs on {nodes} node(s))"
        )
        mnist_ref = ray.put(mnist)  # once; every task reads it from the object store
        pending = {self.submit(spec, mnist_ref): spec for spec in by_trace_key(todo)}
        lost: list[str] = []
        with ctrl_c_requests_stop() as request:  # a KeyboardInterrupt could land in one of Ray's destructors
            try:
                while pending:
                    if request["stop"]:
                        raise KeyboardInterrupt
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
                    for ref in ready:
                        self.collect(ref, pending.pop(ref), out_dir, log, finished, lost)
            except BaseException:
                self.cancel(pending, out_dir, log, finished)
                raise
        if lost:
            raise ClusterError(
                f"{len(lost)} of {len(todo)} runs were lost on the cluster; the finished ones are in {out_dir}: run "
                "the same command again to train the lost ones"
            )

    def submit(self, spec: RunSpec, mnist_ref: Any) -> Any:
        threads, devices = spec.config.train.threads, tf_startup.logical_cpus(spec.config.distribute)
        task = self.task.options(
            num_cpus=threads,
            max_retries=RETRIES,
            # One pool of worker processes per thread and device count: both are fixed when TensorFlow starts.
            runtime_env={"env_vars": {"BN_MNIST_THREADS": str(threads), "BN_MNIST_DEVICES": str(devices)}},
        )
        return task.remote(spec.config, spec.probe, mnist_ref, threads)

    def collect(self, ref: Any, spec: RunSpec, out_dir: Path, log: Log, finished: Finished, lost: list[str]) -> None:
        """A finished task's run into out_dir; a run lost with its node is logged and noted in `lost`."""
        ray = self.ray
        try:
            summary, files = ray.get(ref)
        except ray.exceptions.RayTaskError as error:  # the run itself failed: the cause, as a local run would give
            if isinstance(error.cause, BnMnistError):  # one line, naming the run (its files were on the node)
                raise type(error.cause)(f"{spec.key}, on the cluster: {error.cause}") from None
            raise error.as_instanceof_cause() from None
        except ray.exceptions.RayError as error:  # its worker or node died, more often than Ray retries
            lost.append(spec.key)
            log(lost_line(spec, error))
            return
        write_run(out_dir / spec.key, files)
        finished(spec, summary)

    def cancel(self, pending: dict[Any, RunSpec], out_dir: Path, log: Log, finished: Finished) -> None:
        """Ctrl-C: cancel queued and running tasks (a running run stops at its next chunk); keep every run that
        finished meanwhile."""
        ray = self.ray
        for ref in pending:
            ray.cancel(ref)
        ready, running = ray.wait(list(pending), num_returns=len(pending), timeout=CANCEL_SECONDS)
        for ref in ready:
            with contextlib.suppress(BaseException):  # cancelled or interrupted: nothing to keep
                self.collect(ref, pending[ref], out_dir, log, finished, [])
        for ref in running:
            ray.cancel(ref, force=True)
