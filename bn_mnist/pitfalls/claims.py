"""Each pitfall's claim and the rule that judges it, declared as data before the runs: the rule's parts, each a paired
effect (a measure of one arm minus a measure of another, the same seed, with its 95% t interval) or a share of seeds
with a property (95% Wilson interval), and one policy that turns the parts' words into the verdict. The report prints
the rule text made here from the same parts, so its words are the code's.

The first part of a rule is the failure itself; the others are its fixes (or what it leaves alone). The verdict is
SUPPORTED when every part holds, NOT_SUPPORTED when the first part fails (the failure is not there), PARTLY when the
failure is there, every part decided and some fix fails, else INCONCLUSIVE (the seeds cannot decide).
"""

from __future__ import annotations

from dataclasses import dataclass

from bn_mnist.lab.stats import PAIRED_LEVEL, WILSON_LEVEL, FractionVerdict, PairedEffect

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
    """The seeds whose `measure` of `arm` equals `value` exactly: holds when the Wilson interval of their fraction
    lies above 1/2, fails when below."""

    name: str
    arm: str
    measure: str
    value: float

    def text(self) -> str:
        return (
            f"{self.name}: seeds whose {self.measure} of {self.arm} is exactly {self.value:g}, the "
            f"{WILSON_LEVEL:.0%} Wilson interval of their fraction above 1/2"
        )


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
        "A base frozen with trainable=False keeps its BN layers' old statistics, which costs accuracy on a shifted "
        "domain that the new domain's statistics (AdaBN) recover",
        (
            Paired("AdaBN ahead", ("bn", "finetune_adabn_accuracy"), ("bn", "finetune_frozen_accuracy")),
            Paired("the gap closed", ("bn", "gap_frozen"), ("bn", "gap_adabn"), margin=0.1),
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
        "With one-class batches BN's training accuracy overstates its inference accuracy; Batch Renormalization "
        "and group norm overstate less",
        (
            Paired("BN overstates", ("bn_k1", "train_accuracy"), ("bn_k1", "val_accuracy")),
            Paired("Batch Renorm", ("bn_k1", "overstatement"), ("renorm_k1", "overstatement")),
            Paired("group norm", ("bn_k1", "overstatement"), ("group_k1", "overstatement")),
        ),
    ),
    "dropout": Rule(
        "Dropout before BN shifts the variance BN's statistics expect at inference and costs accuracy; dropout "
        "after the last BN does neither",
        (
            Paired("variance shift", ("every", "variance_shift_decades"), ("last", "variance_shift_decades"), 0.05),
            Paired("accuracy", ("last", "val_accuracy"), ("every", "val_accuracy")),
        ),
    ),
    "precision": Rule(
        "Under mixed_float16, BN statistics in float16 with an epsilon float16 cannot hold (1e-5) cost accuracy; "
        "Keras' BN, whose statistics are float32, trains as in float32",
        (
            Paired(
                "float16 statistics", ("nn_float32_eps1e-5", "val_accuracy"), ("nn_float16_eps1e-5", "val_accuracy")
            ),
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


def share_word(found: FractionVerdict | None) -> str:
    if found is None:
        return UNDECIDED
    low, high = found.wilson_95
    return HOLDS if low > 0.5 else FAILS if high < 0.5 else UNDECIDED


def verdict_word(words: list[str]) -> str:
    """The policy of the module's docstring, on the parts' words (the failure's first)."""
    if all(word == HOLDS for word in words):
        return SUPPORTED
    if words[0] == FAILS:
        return NOT_SUPPORTED
    if words[0] == HOLDS and UNDECIDED not in words:
        return PARTLY
    return INCONCLUSIVE


def part_words(rule: Rule, effects: dict[str, PairedEffect], shares: dict[str, FractionVerdict]) -> dict[str, str]:
    return {
        part.name: paired_word(part, effects.get(part.name))
        if isinstance(part, Paired)
        else share_word(shares.get(part.name))
        for part in rule.parts
    }
