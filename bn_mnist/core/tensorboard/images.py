"""A multi-run command's figures as TensorBoard images at the root of its output (`plots/<name>`), so a reader
exploring the runs sees them without leaving TensorBoard."""

from __future__ import annotations

from pathlib import Path

from bn_mnist.core.tensorboard import events, tags

PLOTS_SUFFIX = ".plots"  # the root's image event file: replaced, never added to, when the figures are redrawn


def write_plots(out_dir: Path, figures: dict[str, Path]) -> None:
    """Each PNG file as the image `plots/<name>` (step 0) in out_dir's event files, replacing earlier ones."""
    summaries = [events.image_summary(tags.plot(name), path.read_bytes()) for name, path in figures.items()]
    events.replace_event_file(out_dir, PLOTS_SUFFIX, summaries)
