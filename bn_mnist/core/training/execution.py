"""The execution settings that change a run's numbers, read from the running process (summary.json `execution`).

The same config and seed give the same numbers bit for bit only with the same settings on the same kind of CPU:
thread count changes the order of floating-point sums, oneDNN and XLA change the kernels, another CPU another
instruction set. These are recorded with every run so that two runs can be compared knowingly (the record,
`Execution`, is defined with the other run files in `runfiles.py`).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core.runfiles import Execution

# Instruction-set extensions TensorFlow's CPU kernels dispatch on (x86); others are not recorded.
CPU_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16")


def cpu_model_and_flags() -> tuple[str, tuple[str, ...]]:
    """The CPU's model name and the recorded flags it has, from /proc/cpuinfo where there is one."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return platform.processor() or platform.machine(), ()
    fields = dict(line.split(":", 1) for line in cpuinfo.read_text().splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    return fields.get("model name", platform.machine()), tuple(flag for flag in CPU_FLAGS if flag in flags)


def device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    return "GPU: " + ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", "?") for gpu in gpus)


def onednn_enabled() -> bool:
    default = "1" if platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64") else "0"
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", default) != "0"


def current(xla: bool) -> Execution:
    """The settings this process trains with (XLA is per run, so the caller says)."""
    cpu, flags = cpu_model_and_flags()
    return Execution(
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
        xla=xla,
        onednn=onednn_enabled(),
        device=device_name(),
        cpu=cpu,
        cpu_flags=flags,
        tensorflow=tf.__version__,
        keras=keras.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
    )
