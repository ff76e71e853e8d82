"""Each pitfall's claim and the rule that judges it, declared as data before the runs (`lab.verdicts`): the rule's
parts, each a paired difference (a measure of one arm minus a measure of another, the same seed, with its 95% t
interval) or an invariant (a measure exactly equal to a value in every seed), and one policy that turns the parts'
words into the verdict. The report prints the rule text made from the same parts, so its words are the code's.

The first part of a rule is the failure itself; the others are its fixes (or what it leaves alone). The verdict is
SUPPORTED when every part holds, NOT_SUPPORTED when the first part fails (the failure is not there), PARTLY when the
failure is there, every part decided and some fix fails, else INCONCLUSIVE (the seeds cannot decide).
"""

from __future__ import annotations

from dataclasses import dataclass

from bn_mnist.lab.verdicts import FAILS, HOLDS, MARGIN, UNDECIDED, Paired, Rule, Share, every, no, verdict_policy


@dataclass(frozen=True)
class Difference(Paired):
    """A paired part measured as `first` minus `second`, each an (arm, measure)."""

    first: tuple[str, str] = ("", "")
    second: tuple[str, str] = ("", "")


def difference(
    name: str, first: tuple[str, str], second: tuple[str, str], margin: float = MARGIN, within: bool = False
) -> Difference:
    """It holds when its interval lies above +margin (within: inside +-margin) and fails when it lies below +margin
    (within: wholly outside +-margin)."""
    what = f"{first[1]} of {first[0]} minus {second[1]} of {second[0]}"
    if within:
        return Difference(name, what, FAILS, HOLDS, FAILS, -margin, margin, first, second)
    return Difference(name, what, HOLDS, None, FAILS, margin, margin, first, second)


def failure_rule(claim: str, failure: Difference, *fixes: Difference | Share) -> Rule:
    """The policy of the module's docstring, over the failure (part 1) and its fixes."""
    policy = verdict_policy(
        supported=every(HOLDS),
        partly=(every(HOLDS, of=(failure.name,)), no(UNDECIDED)),
        not_supported=every(FAILS, of=(failure.name,)),
    )
    return Rule(claim, (failure, *fixes), policy)


SHIFT = "variance_shift_decades"  # the dropout pitfall's measure of Li et al.'s variance shift
RULES = {
    "frozen": failure_rule(
        "A base frozen with trainable=False keeps its BN layers' old statistics (Keras 3), which costs accuracy on a "
        "shifted domain that the new domain's statistics (AdaBN) or BN layers left in training mode (Keras 2) recover",
        difference("AdaBN ahead", ("bn", "finetune_adabn_accuracy"), ("bn", "finetune_frozen_accuracy")),
        difference("Keras 2 ahead", ("bn", "finetune_frozen_bn_training_accuracy"), ("bn", "finetune_frozen_accuracy")),
        Share("old statistics kept", "bn", "frozen_statistics_kept", 1.0),
    ),
    "lag": failure_rule(
        "On a run about as long as the moving averages' window, inference accuracy falls below training-mode "
        "accuracy; recomputed population statistics and a lower momentum each recover it",
        difference("the lag", ("m0.99_short", "training_mode_accuracy"), ("m0.99_short", "val_accuracy")),
        difference("recomputed", ("m0.99_short", "recomputed_accuracy_100"), ("m0.99_short", "val_accuracy")),
        difference("momentum 0.9", ("m0.9_short", "val_accuracy"), ("m0.99_short", "val_accuracy")),
    ),
    "batch": failure_rule(
        "In training mode an example's output depends on the rest of its batch and alone it is misclassified; in "
        "inference mode its output never depends on the batch",
        difference("alone", ("bn", "alone_inference_accuracy"), ("bn", "batch_of_one_accuracy")),
        difference("moves", ("bn", "batch_change"), ("bn", "inference_batch_change"), margin=1e-3),
        Share("inference unmoved", "bn", "inference_batch_change", 0.0),
    ),
    "non_iid": failure_rule(
        "Trained on batches of two classes each, BN's inference accuracy falls below what it reaches on shuffled "
        "batches; Batch Renormalization and group norm lose less (Ioffe 2017)",
        difference("BN falls", ("bn_iid", "val_accuracy"), ("bn_k2", "val_accuracy")),
        difference("Batch Renorm", ("renorm_k2", "val_accuracy"), ("bn_k2", "val_accuracy")),
        difference("group norm", ("group_k2", "val_accuracy"), ("bn_k2", "val_accuracy")),
    ),
    "dropout": failure_rule(
        "Dropout before BN shifts the variance BN receives between training and inference, and the shift costs "
        "accuracy; dropout after the last BN shifts nothing",
        difference("variance shift", ("every", SHIFT), ("last", SHIFT), 0.05),
        difference("its cost", ("every", "recomputed_without_dropout_accuracy"), ("every", "recomputed_accuracy_100")),
        difference("after the last BN", ("last", SHIFT), ("none", SHIFT), 0.05, within=True),
    ),
    "precision": failure_rule(
        "Under mixed_float16, BN statistics summed in float16 overflow on pixels left in 0..255 and cost accuracy "
        "that float32 statistics keep; Keras' BN, whose statistics are float32, trains as in float32",
        difference("float16 statistics", ("raw_nn_float32", "val_accuracy"), ("raw_nn_float16", "val_accuracy")),
        difference("Keras BN", ("float32", "val_accuracy"), ("keras", "val_accuracy"), within=True),
    ),
}
