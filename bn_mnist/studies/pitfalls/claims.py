"""Each pitfall's claim and the rule that judges it, declared as data before the runs: the rule's parts, each a paired
effect (a measure of one arm minus a measure of another, the same seed, with its 95% t interval) or an invariant (a
measure exactly equal to a value in every seed), and one policy that turns the parts' words into the verdict. The
report prints the rule text made here from the same parts, so its words are the code's.

The first part of a rule is the failure itself; the others are its fixes (or what it leaves alone). The verdict is
SUPPORTED when every part holds, NOT_SUPPORTED when the first part fails (the failure is not there), PARTLY when the
failure is there, every part decided and some fix fails, else INCONCLUSIVE (the seeds cannot decide).
"""

from __future__ import annotations

from dataclasses import dataclass

from bn_mnist.lab.stats import PAIRED_LEVEL, PairedEffect

SUPPORTED, PARTLY, NOT_SUPPORTED, INCONCLUSIVE = "supported", "partly supported", "not supported", "inconclusive"
WORDS = (SUPPORTED, PARTLY, NOT_SUPPORTED, INCONCLUSIVE)
HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"
MARGIN = 0.01  # accuracy differences within one point count as none
ABOVE, WITHIN = "above", "within"  # what a paired part expects of its interval: above +margin, or inside +-margin


@dataclass(frozen=True)
class Paired:
    """`first` minus `second` (each an (arm, measure)) in the same seed. With expect ABOVE it holds when the interval
    lies above +margin and fails when it lies below it; with expect WITHIN it holds when the interval lies inside
    +-margin and fails when it lies wholly outside."""

    name: str
    first: tuple[str, str]
    second: tuple[str, str]
    margin: float = MARGIN
    expect: str = ABOVE

    def text(self) -> str:
        difference = f"{self.first[1]} of {self.first[0]} minus {self.second[1]} of {self.second[0]}"
        where = f"above {self.margin:g}" if self.expect == ABOVE else f"within +-{self.margin:g}"
        return f"{self.name}: {difference}, same seed, its {PAIRED_LEVEL:.0%} t interval {where}"


@dataclass(frozen=True)
class Share:
    """An invariant: `measure` of `arm` equals `value` exactly in every seed. It holds when every seed has it (two at
    least), fails when any seed lacks it, else (fewer than two seeds measured) is undecided."""

    name: str
    arm: str
    measure: str
    value: float

    def text(self) -> str:
        return f"{self.name}: {self.measure} of {self.arm} exactly {self.value:g} in every seed"


Part = Paired | Share


@dataclass(frozen=True)
class Rule:
    claim: str
    parts: tuple[Part, ...]  # the failure first, then its fixes

    def text(self) -> str:
        parts = "; ".join(f"({i}) {part.text()}" for i, part in enumerate(self.parts, start=1))
        return (
            f"{parts}. Each part {HOLDS} as said, {FAILS} when its interval lies on the other side, else "
            f"{UNDECIDED}. {SUPPORTED}: every part holds; {NOT_SUPPORTED}: part 1 (the failure) fails; {PARTLY}: "
            f"part 1 holds, every part is decided and a later one fails; else {INCONCLUSIVE}"
        )


RULES = {
    "frozen": Rule(
        "A base frozen with trainable=False keeps its BN layers' old statistics (Keras 3), which costs accuracy on a "
        "shifted domain that the new domain's statistics (AdaBN) or BN layers left in training mode (Keras 2) recover",
        (
            Paired("AdaBN ahead", ("bn", "finetune_adabn_accuracy"), ("bn", "finetune_frozen_accuracy")),
            Paired("Keras 2 ahead", ("bn", "finetune_frozen_bn_training_accuracy"), ("bn", "finetune_frozen_accuracy")),
            Share("old statistics kept", "bn", "frozen_statistics_kept", 1.0),
        ),
    ),
    "lag": Rule(
        "On a run about as long as the moving averages' window, inference accuracy falls below training-mode "
        "accuracy; recomputed population statistics and a lower momentum each recover it",
        (
            Paired("the lag", ("m0.99_short", "training_mode_accuracy"), ("m0.99_short", "val_accuracy")),
            Paired("recomputed", ("m0.99_short", "recomputed_accuracy_100"), ("m0.99_short", "val_accuracy")),
            Paired("momentum 0.9", ("m0.9_short", "val_accuracy"), ("m0.99_short", "val_accuracy")),
        ),
    ),
    "batch": Rule(
        "In training mode an example's output depends on the rest of its batch and alone it is misclassified; in "
        "inference mode its output never depends on the batch",
        (
            Paired("alone", ("bn", "alone_inference_accuracy"), ("bn", "batch_of_one_accuracy")),
            Paired("moves", ("bn", "batch_change"), ("bn", "inference_batch_change"), margin=1e-3),
            Share("inference unmoved", "bn", "inference_batch_change", 0.0),
        ),
    ),
    "non_iid": Rule(
        "Trained on batches of two classes each, BN's inference accuracy falls below what it reaches on shuffled "
        "batches; Batch Renormalization and group norm lose less (Ioffe 2017)",
        (
            Paired("BN falls", ("bn_iid", "val_accuracy"), ("bn_k2", "val_accuracy")),
            Paired("Batch Renorm", ("renorm_k2", "val_accuracy"), ("bn_k2", "val_accuracy")),
            Paired("group norm", ("group_k2", "val_accuracy"), ("bn_k2", "val_accuracy")),
        ),
    ),
    "dropout": Rule(
        "Dropout before BN shifts the variance BN receives between training and inference, and the shift costs "
        "accuracy; dropout after the last BN shifts nothing",
        (
            Paired("variance shift", ("every", "variance_shift_decades"), ("last", "variance_shift_decades"), 0.05),
            Paired("its cost", ("every", "recomputed_without_dropout_accuracy"), ("every", "recomputed_accuracy_100")),
            Paired(
                "after the last BN",
                ("last", "variance_shift_decades"),
                ("none", "variance_shift_decades"),
                0.05,
                WITHIN,
            ),
        ),
    ),
    "precision": Rule(
        "Under mixed_float16, BN statistics summed in float16 overflow on pixels left in 0..255 and cost accuracy "
        "that float32 statistics keep; Keras' BN, whose statistics are float32, trains as in float32",
        (
            Paired("float16 statistics", ("raw_nn_float32", "val_accuracy"), ("raw_nn_float16", "val_accuracy")),
            Paired("Keras BN", ("float32", "val_accuracy"), ("keras", "val_accuracy"), expect=WITHIN),
        ),
    ),
}


def paired_word(part: Paired, effect: PairedEffect | None) -> str:
    if effect is None or effect.interval is None:
        return UNDECIDED
    low, high = effect.interval
    if part.expect == WITHIN:
        inside, outside = -part.margin < low and high < part.margin, low > part.margin or high < -part.margin
    else:
        inside, outside = low > part.margin, high < part.margin
    return HOLDS if inside else FAILS if outside else UNDECIDED


def share_word(seeds: list[bool | None]) -> str:
    """An invariant over the seeds measured (None: not measured)."""
    measured = [holds for holds in seeds if holds is not None]
    if not all(measured):
        return FAILS
    return HOLDS if len(measured) >= 2 else UNDECIDED


def verdict_word(words: list[str]) -> str:
    """The policy of the module's docstring, on the parts' words (the failure's first)."""
    if all(word == HOLDS for word in words):
        return SUPPORTED
    if words[0] == FAILS:
        return NOT_SUPPORTED
    if words[0] == HOLDS and UNDECIDED not in words:
        return PARTLY
    return INCONCLUSIVE


def part_words(rule: Rule, effects: dict[str, PairedEffect], shares: dict[str, list[bool | None]]) -> dict[str, str]:
    return {
        part.name: paired_word(part, effects.get(part.name))
        if isinstance(part, Paired)
        else share_word(shares.get(part.name, []))
        for part in rule.parts
    }
