"""`compare` outputs on synthetic data: both runs, the same start, summary, report and a real PNG."""

from __future__ import annotations

import matplotlib.image
import numpy as np

from bn_mnist import compare
from bn_mnist.training import runlog


def test_compare_writes_both_runs_plot_summary_and_report(tiny_mnist, tiny_fc_config, tmp_path):
    summary = compare.run(tiny_fc_config, tmp_path, tiny_mnist, log=lambda _: None)
    assert compare.CompareSummary.read(tmp_path) == summary
    assert summary.runs["bn"].bn is True and summary.runs["no_bn"].bn is False
    for key in runlog.ARMS:
        assert (tmp_path / key / runlog.METRICS_FILE).is_file() and list((tmp_path / key).glob("events.out.tfevents.*"))
    for threshold, steps in summary.steps_to_accuracy.items():
        for key in runlog.ARMS:  # null, or the first logged step at or above the threshold
            accuracies = {
                r["step"]: r[runlog.VAL_ACCURACY]
                for r in runlog.read_metrics(tmp_path / key)
                if runlog.VAL_ACCURACY in r
            }
            reached = [step for step, acc in sorted(accuracies.items()) if acc >= float(threshold)]
            assert steps[key] == (reached[0] if reached else None)

    image = matplotlib.image.imread(tmp_path / compare.PLOT_FILE)
    assert (tmp_path / compare.PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[0] > 300 and image.shape[1] > 800 and image[..., :3].std() > 0.05  # a drawn figure
    blue = np.all(np.abs(image[..., :3] - matplotlib.colors.to_rgb("tab:blue")) < 0.05, axis=-1).sum()
    orange = np.all(np.abs(image[..., :3] - matplotlib.colors.to_rgb("tab:orange")) < 0.05, axis=-1).sum()
    assert blue > 200 and orange > 200  # both curves are on it

    report = (tmp_path / compare.REPORT_FILE).read_text()
    assert f"![convergence]({compare.PLOT_FILE})" in report
    assert f"| final validation accuracy | {summary.runs['bn'].final_val_accuracy:.4f} |" in report
