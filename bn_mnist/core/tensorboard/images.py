"""A multi-run command's figures as TensorBoard images at the root of its output (`plots/<name>`), so a reader
exploring the runs sees them without leaving TensorBoard."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from bn_mnist.core.tensorboard import tags, writer

PLOTS_SUFFIX = ".plots"  # the root's image event file: replaced, never added to, when the figures are redrawn


def write_plots(out_dir: Path, figures: dict[str, Path]) -> None:
    """Each PNG file as the image `plots/<name>` (step 0) in out_dir's event files, replacing earlier ones."""
    with writer.replacing_writer(out_dir, PLOTS_SUFFIX):
        for name, path in figures.items():
            image = tf.io.decode_png(tf.io.read_file(str(path)), channels=4)  # (H, W, 4): matplotlib writes RGBA
            tf.summary.image(tags.plot(name), image[tf.newaxis])
