"""`diagnose(model_path, data)`: measure a saved model's BN layers on data and list what is wrong with them. The
model file is only read; the loaded model is measured without changing a weight or a statistic."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from bn_mnist.core import bn_probe as probe
from bn_mnist.core.console import Log, stderr_log
from bn_mnist.core.data.sources import first_line
from bn_mnist.core.errors import DiagnoseError
from bn_mnist.tools.diagnose import checks, inputs
from bn_mnist.tools.diagnose.findings import Diagnosis, Finding


def diagnose(model_path: str | Path, data: str | Path | None = None, log: Log = stderr_log) -> Diagnosis:
    """The findings on the model in `model_path`, measured on `data` (see `inputs.load_data`)."""
    path = Path(model_path).expanduser()
    model = inputs.load_model(path)
    examples = inputs.load_data(model, None if data is None else Path(data).expanduser(), log)
    layers = probe.bn_layers(model)
    try:
        with probe.recording(layers) as received:
            outputs = probe.inference(model, examples.x)
    except Exception as error:
        reason = f"{type(error).__name__}: {first_line(error)}"
        raise DiagnoseError(f"{path}: the model fails on {examples.source} ({reason})") from None
    steps, unchecked = iterations(model), unchecked_layers(received)
    findings = layer_findings(layers, received, steps) + model_findings(model, examples, outputs, unchecked)
    if not layers:
        unchecked.append("the BN checks: the model has no layer with moving statistics")
    elif steps is None:
        unchecked.append("the momentum against training's length: no optimizer state that took a step was loaded")
    order = list(checks.CHECKS)
    findings.sort(key=lambda finding: (order.index(finding.check), -finding.size))
    return Diagnosis(str(path), examples.source, tuple(layers), tuple(findings), tuple(unchecked))


def iterations(model: keras.Model) -> int | None:
    """Steps the saved optimizer took, when one was saved and it took any."""
    optimizer = getattr(model, "optimizer", None)
    steps = int(optimizer.iterations) if optimizer is not None and optimizer.built else 0
    return steps or None


def unchecked_layers(received: dict[str, probe.Received]) -> list[str]:
    return [f"{path}: never called at inference on this data" for path, got in received.items() if not got.count]


def layer_findings(
    layers: dict[str, keras.Layer], received: dict[str, probe.Received], steps: int | None
) -> list[Finding]:
    """Each BN layer's findings; a layer with non-finite or never-updated statistics gets that one alone (its other
    numbers follow from it), and a layer the data never reached gets only the checks that need no data."""
    found: list[Finding | None] = []
    for path, layer in layers.items():
        called = received[path].count > 0
        broken = checks.finite(path, layer) or checks.initial(path, layer)
        found += [broken, checks.float16(path, layer)]
        found.append(checks.frozen(path, layer, received[path].sample) if called else None)
        if broken is None and called:
            found += checks.statistics(path, layer, received[path])
        if broken is None and steps is not None:
            found.append(checks.window(path, layer, steps))
    return [finding for finding in found if finding is not None]


def model_findings(
    model: keras.Model, examples: inputs.Data, outputs: np.ndarray, unchecked: list[str]
) -> list[Finding]:
    """Checks of the whole model: non-finite outputs, outputs that depend on the batch, the two modes' accuracies."""
    found: list[Finding | None] = [checks.finite_outputs(outputs)]
    try:
        alone = probe.inference(model, examples.x[: probe.PROBES], batch=1)
    except Exception as error:
        found.append(checks.batch_of_one(error))
    else:
        found.append(checks.batch(probe.batch_change(model, examples.x, alone)))
    if examples.y is None:
        unchecked.append("the training- against inference-mode accuracy: the data has no labels (y)")
    elif outputs.ndim != 2 or outputs.shape[-1] < 2:
        unchecked.append(f"the accuracies: outputs of shape {outputs.shape[1:]} are not class scores")
    elif len(examples.x) < probe.TRAINING_BATCH:
        unchecked.append(f"the accuracies: fewer than {probe.TRAINING_BATCH} labelled examples, one training batch")
    else:
        inputs.check_labels(examples, outputs.shape[-1])
        found.append(checks.accuracy_gap(*probe.accuracies(model, examples.x, examples.y)))
    return [finding for finding in found if finding is not None]
