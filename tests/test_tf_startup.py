"""TensorFlow's start-up chatter is kept off the console; anything else it prints still reaches the user."""

from __future__ import annotations

import subprocess
import sys

from bn_mnist.core.tf_startup import lines_to_keep

NO_GPU = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795609822.776988    2274 port.cc:153] oneDNN custom operations are on. You may see ...",
    "I0000 00:00:1795609822.777310    2274 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU ...",
    "I0000 00:00:1795610002.274399    3536 cpu_feature_guard.cc:227] This TensorFlow binary is optimized ...",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow ...",
    "E0000 00:00:1795609824.602264    2274 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
]


def test_the_lines_of_a_machine_without_a_gpu_are_dropped():
    assert lines_to_keep(NO_GPU) == []


def test_errors_and_warnings_pass():
    real = [
        "W0000 00:00:1.0 1 some_op.cc:1] a warning from TensorFlow",
        "E0000 00:00:1.0 1 some_op.cc:1] a real error",
        "Traceback (most recent call last):",
    ]
    assert lines_to_keep([*NO_GPU, *real]) == real


def test_a_cuinit_failure_is_shown_where_a_driver_exists():
    """With a CUDA driver present, a failing cuInit is a real problem (a broken GPU set-up)."""
    assert lines_to_keep([NO_GPU[-1]]) == [NO_GPU[-1]]


def test_the_filter_works_on_file_descriptor_2():
    code = (
        "import os, sys\n"
        "from bn_mnist.core.tf_startup import filtered_stderr\n"
        "with filtered_stderr():\n"
        "    os.write(2, b'I0000 00:00:1.0 1 port.cc:1] chatter\\nkept line\\n')\n"
        "print('after', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr.splitlines() == ["kept line", "after"]
