"""Event files written without TensorFlow, by TensorBoard's own record format: what a multi-run command's main
process writes at the root of its output (the hparams experiment, the figures). That process then never starts
TensorFlow, whose import costs seconds before the first worker starts; the runs' own files are written by their
workers (`writer.RunLog`)."""

from __future__ import annotations

import io
import itertools
import os
import socket
import struct
import time
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.image import metadata as image_metadata
from tensorboard.summary.writer.record_writer import RecordWriter
from tensorboard.util import tensor_util

from bn_mnist.core import files

PNG_SIZE = struct.Struct(">II")  # a PNG's width and height, at bytes 16..24 (its IHDR chunk)
_numbers = itertools.count()  # a process's event files, numbered as TensorFlow numbers its own


def event_file_name(suffix: str) -> str:
    """TensorFlow's name for a new event file: TensorBoard finds event files by it."""
    return f"events.out.tfevents.{time.time():010.0f}.{socket.gethostname()}.{os.getpid()}.{next(_numbers)}{suffix}"


def replace_event_file(directory: Path, suffix: str, summaries: list[summary_pb2.Summary]) -> None:
    """`summaries` at step 0 in a new event file of `directory` (made if missing), named `*suffix`, which replaces
    the earlier ones of that suffix: what a rerun writes at the root of an output is there once, not once per run
    of the command. An OSError is a WriteError."""
    earlier = list(directory.glob(f"*{suffix}"))
    records = io.BytesIO()
    writer = RecordWriter(records)
    writer.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
    for summary in summaries:
        writer.write(event_pb2.Event(wall_time=time.time(), step=0, summary=summary).SerializeToString())
    path = directory / event_file_name(suffix)
    with files.written(path) as partial:
        directory.mkdir(parents=True, exist_ok=True)  # as TensorFlow's writer does
        partial.write_bytes(records.getvalue())
    for old in earlier:
        old.unlink(missing_ok=True)


def image_summary(tag: str, png: bytes) -> summary_pb2.Summary:
    """A PNG file's bytes as the image `tag`, in the form `tf.summary.image` writes: [width, height, PNG]."""
    width, height = PNG_SIZE.unpack(png[16:24])
    tensor = tensor_util.make_tensor_proto([str(width).encode(), str(height).encode(), png])
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=image_metadata.create_summary_metadata(None, None), tensor=tensor)
    return summary
