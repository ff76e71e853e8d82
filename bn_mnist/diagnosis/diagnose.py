"""`diagnose(model_path, data)`: measure a saved model's BN layers on data and list what is wrong with them. The
model file is only read; the loaded model is measured without changing a weight or a statistic."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from bn_mnist.console import Log, stderr_log
from bn_mnist.diagnosis import checks, inputs, probe
from bn_mnist.diagnosis.findings import Diagnosis, Finding
from bn_mnist.errors import DiagnoseError


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
        raise DiagnoseError(f"{path}: the model fails on {examples.source} ({type(error).__name__}: {error})") from None
    findings, unchecked = layer_findings(layers, received, iterations(model)), []
    findings += model_findings(model, examples, outputs, unchecked)
    if not layers:
        unchecked.append("the BN checks: the model has no layer with moving statistics")
    elif iterations(model) is None:
        unchecked.append("the momentum against training's length: the file holds no optimizer state Keras could load")
    order = list(checks.CHECKS)
    findings.sort(key=lambda finding: (order.index(finding.check), -finding.size))
    return Diagnosis(str(path), examples.source, tuple(layers), tuple(findings), tuple(unchecked))


def iterations(model: keras.Model) -> int | None:
    """Steps the saved optimizer took, when one was saved and it took any."""
    optimizer = getattr(model, "optimizer", None)
    steps = int(optimizer.iterations) if optimizer is not None and optimizer.built else 0
    return steps or None


def layer_findings(
    layers: dict[str, keras.Layer], received: dict[str, probe.Received], steps: int | None
) -> list[Finding]:
    """Each BN layer's findings; a layer never updated gets that one alone (its other numbers follow from it)."""
    found: list[Finding | None] = []
    for path, layer in layers.items():
        never_updated = checks.initial(path, layer)
        found.append(never_updated)
        found.append(checks.frozen(path, layer, received[path].sample))
        found.append(checks.float16(path, layer))
        if never_updated is None:
            found += checks.statistics(path, layer, received[path])
            found.append(None if steps is None else checks.window(path, layer, steps))
    return [finding for finding in found if finding is not None]


def model_findings(
    model: keras.Model, examples: inputs.Data, outputs: np.ndarray, unchecked: list[str]
) -> list[Finding]:
    """Checks of the whole model: outputs that depend on the batch, and the two modes' accuracies."""
    found: list[Finding | None] = []
    try:
        found.append(checks.batch(probe.batch_change(model, examples.x)))
    except Exception as error:
        found.append(checks.batch_of_one(error))
    if examples.y is None:
        unchecked.append("the training- against inference-mode accuracy: the data has no labels (y)")
    elif outputs.ndim != 2 or outputs.shape[-1] < 2:
        unchecked.append(f"the accuracies: outputs of shape {outputs.shape[1:]} are not class scores")
    else:
        training = probe.training_mode(model, examples.x, probe.TRAINING_BATCH)
        found.append(checks.accuracy_gap(accuracy(training, examples.y), accuracy(outputs, examples.y)))
    return [finding for finding in found if finding is not None]


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy over the examples `outputs` covers (training mode drops a last partial batch)."""
    return float(np.mean(outputs.argmax(-1) == labels[: len(outputs)]))
