"""The Python API: the commands' options documented, the same numbers as the CLI, typed results that render in a
notebook, and bad input as the same one-line errors."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

import bn_mnist
from bn_mnist import api
from bn_mnist.cli import main
from bn_mnist.core import runfiles
from bn_mnist.core.errors import ConfigError, ResultsError
from bn_mnist.studies.explain.study import results_of as explain_results
from bn_mnist.studies.reproduce.results import Results

DOCS = Path(__file__).parents[1] / "docs"
FUNCTIONS = (bn_mnist.train, bn_mnist.compare, bn_mnist.reproduce, bn_mnist.explain, bn_mnist.pitfalls)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.__name__)
def test_help_documents_every_option(function):
    lines = [line.strip() for line in inspect.getdoc(function).splitlines()]
    for name in inspect.signature(function).parameters:
        assert any(line.startswith(f"{name}: ") for line in lines), name


def test_every_command_is_a_function_of_the_package():
    """`bn_mnist.pitfalls` is the API function, not the package of the study (which lives under studies/)."""
    commands = set(main.commands) - {"data", "report"}
    assert {name for name in commands if callable(getattr(bn_mnist, name, None))} == commands
    assert set(bn_mnist.__all__) == commands


def test_importing_the_package_starts_no_tensorflow():
    probe = "import sys, bn_mnist; print('tensorflow' in sys.modules, callable(bn_mnist.compare))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.split() == [
        "False",
        "True",
    ]


def test_overrides_as_texts_or_typed_values_make_the_same_config():
    assert api.resolve("fc", ["train.steps=300", "train.learning_rate=0.1"]) == api.resolve(
        "fc", {"train.steps": 300, "train.learning_rate": 0.1}
    )
    assert api.resolve(api.resolve("fc", {"train.steps": 300}), (), seed=4).seed == 4  # a Config, then options
    with pytest.raises(ConfigError, match="expected a list of KEY=VALUE texts or a mapping"):
        api.resolve("fc", "train.steps=300")
    with pytest.raises(ConfigError, match=r"train\.stepz: unknown key"):
        api.resolve("fc", {"train.stepz": 300})


def test_an_unknown_experiment_or_study_is_one_line_before_anything_starts():
    with pytest.raises(ConfigError, match="experiment 'lessons': expected all or any of conv, lesson, pitfall"):
        bn_mnist.reproduce("lessons")
    with pytest.raises(ConfigError, match="study 'ics2': expected all or any of lr, init"):
        bn_mnist.explain(["ics", "ics2"])
    with pytest.raises(ConfigError, match="pitfall 'frozn': expected all or any of frozen, lag"):
        bn_mnist.pitfalls("frozn")
    assert api.chosen_names(["batch", "lr"], ("lr", "init", "batch"), "study") == ("lr", "batch")


def test_results_render_for_a_notebook_and_draw_their_figures():
    """The committed reproduction and explanation, as a notebook shows them."""
    reproduction = Results.from_dict(json.loads((DOCS / "reproduction" / "results.json").read_text()))
    explanation = explain_results(json.loads((DOCS / "norms" / "explain" / "results.json").read_text()))
    for results in (reproduction, explanation):
        shown = results._repr_markdown_()
        assert shown.startswith("# ") and "| " in shown and "![" not in shown
    paper, plain = reproduction.figure("paper"), explanation.figure("plain")
    assert isinstance(paper, Figure) and len(paper.axes) == 3 and isinstance(plain, Figure)
    with pytest.raises(ResultsError, match="no figure 'nope' in these results; they have: conv, "):
        reproduction.figure("nope")


def test_the_api_and_the_cli_give_the_same_numbers(real_mnist, tmp_path):
    options = {"train.steps": 30, "train.eval_every": 10, "train.log_every": 10}
    run = bn_mnist.train("fc", overrides=options, bn=False, seed=5, out=tmp_path / "api", log=lambda _: None)
    texts = [part for key, value in options.items() for part in ("--set", f"{key}={value}")]
    result = CliRunner().invoke(
        main, ["train", "--config", "fc", *texts, "--no-bn", "--seed", "5", "--out", str(tmp_path / "cli")]
    )
    assert result.exit_code == 0, result.output
    cli = runfiles.RunSummary.read(tmp_path / "cli")
    timeless = {field: None for field in runfiles.WALL_CLOCK_FIELDS}
    assert run.summary.to_dict() | timeless == cli.to_dict() | timeless
    assert run.metrics == runfiles.read_metrics(tmp_path / "cli") and run.metrics[-1]["step"] == 30
    assert "| final validation accuracy |" in run._repr_markdown_() and len(run.figure().axes) == 2


@pytest.mark.parametrize("name", ["train", "compare", "reproduce", "explain", "pitfalls"])
def test_the_api_takes_every_option_of_its_command(name):
    """The same options by the same names (`--config` is `config`), and the API's `log` besides."""
    options = {"config" if param.name == "config_name" else param.name for param in main.commands[name].params}
    assert options | {"log"} == set(inspect.signature(getattr(bn_mnist, name)).parameters)
