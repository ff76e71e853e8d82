"""TensorBoard as a user sees it: a real `tensorboard --logdir` over a real compare on real MNIST, read over its
HTTP API and in headless Chromium. The server runs on a free port of 127.0.0.1 and is ended by its handle."""

from __future__ import annotations

import io
import os
import shutil
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import served
from selenium import webdriver

from bn_mnist.core import runfiles
from bn_mnist.core.config import load_config
from bn_mnist.core.tensorboard import hparams
from bn_mnist.core.training import trainer as train
from bn_mnist.lab.arms import WITH_AND_WITHOUT
from bn_mnist.studies import compare

pytestmark = pytest.mark.slow
ARM_KEYS = [arm.key for arm in WITH_AND_WITHOUT]
RUNS = [compare.seed_key(arm, 0) for arm in ARM_KEYS]  # bn-seed0, no_bn-seed0
ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]  # hparams API sessions: UNKNOWN


@pytest.fixture(scope="module")
def compared(real_mnist, tmp_path_factory) -> tuple[Path, compare.CompareSummary]:
    """The default compare (the tutorial's conv net, 800 steps, seed 0), as `bn-mnist compare` runs it."""
    out = tmp_path_factory.mktemp("tensorboard") / "compare"
    return out, compare.run(load_config(), out, real_mnist, log=lambda _: None)


@pytest.fixture(scope="module")
def board(compared):
    with served.tensorboard(compared[0]) as server:
        yield server


def query(**params: str) -> str:
    return urllib.parse.urlencode(params)


def experiment_of(server: served.Served) -> dict:
    return server.post("/data/plugin/hparams/experiment", {"experimentName": ""})


def session_groups_of(server: served.Served, **slicing: int) -> dict:
    """The HParams session groups, every status allowed (hparams-API sessions are UNKNOWN)."""
    request = {"experimentName": "", "allowedStatuses": ALL_STATUSES, "colParams": [], "startIndex": 0}
    return server.post("/data/plugin/hparams/session_groups", {**request, **slicing})


def metric_values(group: dict) -> dict[str, float]:
    return {value["name"]["tag"]: value["value"] for value in group["metricValues"]}


def float32(value: float) -> float:
    """A scalar as TensorBoard stores it."""
    return float(np.float32(value))


def test_the_run_list_holds_both_runs_and_the_root(board):
    assert set(board.get("/data/runs")) == {*RUNS, "."}


def test_every_served_scalar_is_the_value_in_metrics_jsonl(board, compared):
    out, summary = compared
    tags = board.get("/data/plugin/scalars/tags")
    for run in RUNS:
        records = runfiles.read_metrics(out / run)
        logged = {name for record in records for name in record if name != "step"}
        assert logged <= set(tags[run]) and {runfiles.VAL_ACCURACY, "gradient_norm/conv01"} <= logged
        for tag in logged:
            points = board.get(f"/data/plugin/scalars/scalars?{query(run=run, tag=tag)}")
            expected = [[r["step"], float32(r[tag])] for r in records if tag in r]
            assert [[step, value] for _, step, value in points] == expected, tag
        final = board.get(f"/data/plugin/scalars/scalars?{query(run=run, tag='final/val_accuracy')}")
        arm_summary = summary.runs[run.split("-")[0]][0]
        assert [[step, value] for _, step, value in final] == [[800, float32(arm_summary.final_val_accuracy)]]


def test_the_hparams_dashboard_lists_both_runs_with_settings_and_outcome(board, compared):
    _, summary = compared
    experiment = experiment_of(board)
    varied = ["bn", "bn.impl", "bn.kind", "bn.placement", "bn.update_moving_stats"]  # what differs between the arms
    fixed = sorted(set(hparams.HPARAMS) - set(varied))
    assert [info["name"] for info in experiment["hparamInfos"]] == varied + fixed  # listed (and shown) first
    assert [info["name"]["tag"] for info in experiment["metricInfos"]] == [tag for tag, _ in hparams.METRICS]
    groups = session_groups_of(board, sliceSize=100)
    assert groups["totalSize"] == 2
    by_run = {group["sessions"][0]["name"]: group for group in groups["sessionGroups"]}
    assert set(by_run) == set(RUNS)
    for arm in ARM_KEYS:
        group, run = by_run[compare.seed_key(arm, 0)], summary.runs[arm][0]
        assert group["hparams"]["bn"] is (arm == "bn") and group["hparams"]["arch"] == "conv"
        assert group["hparams"]["bn.impl"] == ("keras" if arm == "bn" else "none")
        metrics = metric_values(group)
        assert metrics["final/val_accuracy"] == float32(run.final_val_accuracy)
        assert metrics["final/single_sample_accuracy"] == float32(run.single_sample_accuracy)
        assert metrics["final/diverged"] == 0.0
    without_slice = session_groups_of(board)
    assert without_slice.get("sessionGroups", []) == []  # the trap: no sliceSize, no groups


def test_a_train_run_alone_is_an_hparams_experiment_too(tiny_mnist, tiny_fc_config, tmp_path):
    """No experiment summary for one run: TensorBoard builds the experiment from its session."""
    summary = train.run(tiny_fc_config, tmp_path / "run", tiny_mnist, log=lambda _: None)
    with served.tensorboard(tmp_path) as one_run:
        experiment, groups = experiment_of(one_run), session_groups_of(one_run, sliceSize=100)
    assert {info["name"] for info in experiment["hparamInfos"]} == set(hparams.HPARAMS)
    assert groups["totalSize"] == 1 and groups["sessionGroups"][0]["sessions"][0]["name"] == "run"
    group = groups["sessionGroups"][0]
    assert group["hparams"]["arch"] == "fc" and group["hparams"]["learning_rate"] == 0.01
    assert metric_values(group)["final/val_accuracy"] == float32(summary.final_val_accuracy)


def test_histograms_and_the_plot_image_are_served(board, compared):
    out, _ = compared
    histograms = board.get(f"/data/plugin/histograms/histograms?{query(run=RUNS[0], tag='preactivation/conv01')}")
    assert [step for _, step, _ in histograms] == list(range(0, 801, 100))
    assert all(sum(bucket[2] for bucket in buckets) == 256 * 28 * 28 * 4 for _, _, buckets in histograms)
    bn_tags = board.get("/data/plugin/histograms/tags")[RUNS[0]]
    assert {"bn_gamma/conv19", "bn_moving_variance/dense20", "weights/logits"} <= set(bn_tags)
    images = board.get(f"/data/plugin/images/images?{query(run='.', tag='plots/convergence', sample='0')}")
    png = board.raw(f"/data/plugin/images/individualImage?{images[0]['query']}")
    served_pixels = matplotlib.image.imread(io.BytesIO(png))
    np.testing.assert_array_equal(served_pixels, matplotlib.image.imread(out / compare.PLOT_FILE))


DEEP_TEXT = """
const parts = [];
(function walk(node) {
  if (node.shadowRoot) walk(node.shadowRoot);
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) parts.push(child.textContent);
    else if (!['STYLE', 'SCRIPT', 'TEMPLATE'].includes(child.nodeName)) walk(child);
  }
})(document.body);
return parts.join(' ').replace(/\\s+/g, ' ');
"""  # the page's visible text, shadow roots included (TensorBoard's Polymer dashboards live in them)
PAGE_TIMEOUT = 60


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """Headless Debian Chromium driven by Selenium through Debian's chromedriver (no download at run time)."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.fail(
            "the browser test needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*served.CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    yield session
    session.quit()


def page_text(chromium, url: str, ready: Callable[[str], bool]) -> str:
    """Open url and wait until its text is ready (or PAGE_TIMEOUT passed); returns the text."""
    chromium.get(url)
    deadline = time.monotonic() + PAGE_TIMEOUT
    while True:
        text = chromium.execute_script(DEEP_TEXT)
        if ready(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def drawn(text: str, tag: str) -> bool:
    """Whether the chart of `tag` has its x axis (a tick at step 700), i.e. is drawn, not just titled."""
    _, found, chart = text.partition(f"tag: {tag} ")
    return bool(found) and " 700 " in chart.split("tag:")[0]


def test_a_browser_shows_both_runs_in_the_scalars_dashboard_and_the_runs_table_in_hparams(board, chromium, compared):
    tag_filter = urllib.parse.quote("^(train|val)/")  # the learning curves, as a user would type in the filter
    curves = ("train/accuracy", "train/loss", "val/accuracy", "val/loss")
    text = page_text(
        chromium, f"{board.url}/#scalars&tagFilter={tag_filter}", lambda t: all(drawn(t, c) for c in curves)
    )
    assert all(run in text for run in RUNS), text[:2000]
    assert all(drawn(text, curve) for curve in curves), text[:2000]
    save_screenshot(chromium, "tensorboard-scalars.png")
    finals = [f"{runs[0].final_val_accuracy:#.5g}" for runs in compared[1].runs.values()]  # as the table prints them
    table = ("Number of matching session groups: 2", "bn.impl", "final val. accuracy", *finals)
    text = page_text(chromium, f"{board.url}/#hparams", lambda t: all(word in t for word in table))
    assert all(word in text for word in table), text[:2000]
    save_screenshot(chromium, "tensorboard-hparams.png")


def save_screenshot(chromium, name: str) -> None:
    """Into BN_MNIST_SCREENSHOTS when set (the README's screenshots: docs/), else nowhere; after the charts'
    drawing animation."""
    where = os.environ.get("BN_MNIST_SCREENSHOTS")
    if where:
        time.sleep(2)
        chromium.save_screenshot(str(Path(where) / name))
