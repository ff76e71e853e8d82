"""`explain`'s results as typed records; results.json is their serialisation. `analysis` makes them from the
finished runs and `claims` judges them; `figures` and `report` render them, judging nothing, so both can be rebuilt
from results.json."""

from __future__ import annotations

from dataclasses import dataclass, field

from bn_mnist.core.records import SCHEMA_VERSION, Record, named, optional, present
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab.stats import FractionVerdict, PairedEffect, Spread
from bn_mnist.lab.study import Making, Shown
from bn_mnist.lab.verdicts import Verdict


@dataclass(frozen=True)
class Outcomes(Record):
    """How one setting's runs ended, over seeds."""

    val_accuracy: Spread | None
    single_sample_accuracy: Spread | None
    seeds: list[float | None]  # final validation accuracy per seed
    diverged: FractionVerdict
    trains: FractionVerdict  # final validation accuracy >= studies.REACH
    train_accuracy: Spread | None = None  # training mode, the last logged batches (None: results made before)


@dataclass(frozen=True)
class Usable(Record):
    """The grid values at which a network trains in more than half of the seeds, and their span."""

    values: list[float]
    low: float | None
    high: float | None
    decades: float | None


@dataclass(frozen=True)
class GridArm(Record):
    points: list[Outcomes]  # one per grid value
    usable: Usable


@dataclass(frozen=True)
class GridPanel(Record):
    title: str
    key: str  # the swept config key
    values: list[float]
    arms: dict[str, GridArm]
    # per grid value, BN's final val. accuracy minus no BN's in the same seed (absent from results made before)
    advantage: list[PairedEffect] = field(default_factory=list)
    # arm -> per seed, the largest grid value up to which none of the seed's runs diverged (None: the first did)
    largest_stable: dict[str, list[float | None]] = field(default_factory=dict)
    stable_higher: FractionVerdict | None = optional()  # seeds whose BN runs stay stable to a higher grid value
    # arm -> per seed, its best final val. accuracy over the grid minus its worst: how much the swept value matters
    sensitivity: dict[str, PairedEffect] = field(default_factory=dict)
    less_sensitive: PairedEffect | None = optional()  # no BN's sensitivity minus BN's, per seed
    controls: dict[str, Outcomes] = field(default_factory=dict)  # control arm -> its runs at the base setting
    # init panels: per grid value, the learning rate over the first hidden kernel's expected squared norm at step 0
    # (SD^2 x its weights): the effective step of a layer BN makes scale-invariant (van Laarhoven 2017)
    effective_rate: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class GridStudy(Record):
    threshold: float
    panels: dict[str, GridPanel]


LayerSpreads = dict[str, dict[str, Spread | None]]  # measurement tag kind -> layer -> over seeds


@dataclass(frozen=True, kw_only=True)  # keyword-only: its fields follow Outcomes' defaulted ones
class InsideArm(Outcomes):
    """Inside one network at step 0 ("start") and at each run's last evaluation ("end")."""

    steps: list[int]  # [0, the last step]
    start: LayerSpreads
    end: LayerSpreads


@dataclass(frozen=True)
class SpreadCurve(Record):
    step: list[int]
    value: list[Spread | None]


@dataclass(frozen=True)
class MeasureArm(Record):
    curve: SpreadCurve  # at every evaluation, over seeds
    median_over_training: Spread | None  # each seed's median over the evaluations after step 0


@dataclass(frozen=True)
class PairedMeasure(Record):
    bn_smaller: FractionVerdict  # seeds whose BN run has the smaller median
    bn: MeasureArm
    no_bn: MeasureArm
    # log10 of BN's median over training minus log10 of no BN's, per seed: how many decades smaller BN's is
    decades: PairedEffect | None = optional()


@dataclass(frozen=True)
class LandscapeStudy(Record):
    """Santurkar et al.'s measures, per tag (`tags.landscape_tag`): matched distances on the next training batch and
    on a held-out batch, the scale-invariant variant, and the gradient norm where they are taken."""

    learning_rate: float
    distances: list[float]  # ‖Δθ‖ of the steps along the gradient
    kernel_fractions: list[float]  # the scale-invariant variant's steps, as fractions of each kernel's norm
    paired: dict[str, PairedMeasure]
    outcomes: dict[str, Outcomes] = field(default_factory=dict)


VARIANT_NAMES = {tags.LANDSCAPE: "training batch", tags.HELD_OUT: "held-out batch", tags.RELATIVE: "scale-invariant"}
MEASURE_NAMES = {
    tags.LOSS_RANGE: "loss range",
    tags.GRADIENT_CHANGE: "gradient change",
    tags.BETA: "effective β-smoothness",
    tags.LOSS_GRADIENT_NORM: "gradient norm ‖g‖",
}


def measure_name(tag: str) -> str:
    """A landscape tag in words: landscape_held_out/beta_smoothness -> 'effective β-smoothness, held-out batch'."""
    variant, measure = tag.split("/")
    name = "relative gradient change" if (variant, measure) == (tags.RELATIVE, tags.GRADIENT_CHANGE) else None
    return f"{name or MEASURE_NAMES[measure]}, {VARIANT_NAMES[variant]}"


@dataclass(frozen=True)
class LayerShift(Record):
    bn_better: FractionVerdict  # seeds whose BN run has the smaller l2 difference (the cosine closer to 1)
    bn: Spread | None
    no_bn: Spread | None
    # BN minus no BN, same seed: in decades (log10) for the l2 difference, as it stands for the cosine
    effect: PairedEffect | None = optional()


@dataclass(frozen=True)
class NoisyBN(Record):
    """BN with noise of a random mean and SD after each BN layer, new every step (Santurkar et al.'s noisy BN)."""

    outcomes: Outcomes
    behind_bn: PairedEffect  # BN's final val. accuracy minus noisy BN's, same seed
    ahead_of_no_bn: PairedEffect  # noisy BN's minus no BN's, same seed
    l2: dict[str, Spread | None]  # per layer, its covariate shift (l2), median over training, over seeds


@dataclass(frozen=True)
class IcsStudy(Record):
    layers: list[str]
    learning_rate: float
    l2: dict[str, LayerShift] = named(tags.ICS_L2)
    cosine: dict[str, LayerShift] = named(tags.ICS_COSINE)
    noisy: NoisyBN | None = optional()


@dataclass(frozen=True)
class BatchStudy(Record):
    sizes: list[int]
    examples: int  # every size sees as many
    learning_rates: list[float]  # per size
    arms: dict[str, list[Outcomes]]  # arm -> one per size
    # arm -> final val. accuracy at the largest batch minus at the smallest, per seed (absent before GN and LN came)
    drop: dict[str, PairedEffect] = field(default_factory=dict)
    # normalized arm -> its drop minus no normalization's, per seed: what the normalization adds to the schedule's
    excess_drop: dict[str, PairedEffect] = field(default_factory=dict)
    # BN variant (Bessel, renorm) -> BN's drop minus its own, per seed: how much of BN's drop it removes
    reduction: dict[str, PairedEffect] = field(default_factory=dict)
    groups: int = 4  # group norm's groups of units (results from before the field: 4, as they were trained)


@dataclass(frozen=True)
class PlainStudy(Record):
    """The 19-layer conv net with BN and without it at several inits, for the same steps."""

    steps: int
    arms: dict[str, Outcomes]
    behind_bn: dict[str, PairedEffect]  # arm without BN -> BN's final val. accuracy minus its own, per seed


InsideStudy = dict[str, dict[str, InsideArm]]  # network -> arm -> inside it


@dataclass(frozen=True)
class Studies(Record):
    """The chosen studies' numbers (a study not chosen is left out)."""

    lr: GridStudy | None = optional()
    init: GridStudy | None = optional()
    inside: InsideStudy | None = optional()
    landscape: LandscapeStudy | None = optional()
    ics: IcsStudy | None = optional()
    batch: BatchStudy | None = optional()
    plain: PlainStudy | None = optional()


@dataclass(frozen=True)
class InsideAnswer(Record):
    """Why one network without BN does (not) learn, as the numbers say (`claims.INSIDE_CAUSES`)."""

    cause: str
    shrink: float | None  # the deepest layer's output SD over the first's, at step 0, without BN


@dataclass(frozen=True)
class Verdicts(Record):
    lr: Verdict | None = optional()
    init: Verdict | None = optional()
    inside: dict[str, InsideAnswer] | None = optional()
    landscape: Verdict | None = optional()
    ics: Verdict | None = optional()
    batch: Verdict | None = optional()
    batch_independent: Verdict | None = optional()  # the batch study's second claim (Wu & He 2018)
    noisy: Verdict | None = optional()  # the covariate-shift study's second claim (noisy BN)
    plain: Verdict | None = optional()

    def of(self, claim: str) -> Verdict:
        """A claim's verdict, which a report section needs.

        Raises:
            ResultsError: the results hold none (they are of other studies).
        """
        found: Verdict = present(getattr(self, claim), f"{claim} verdict")
        return found


@dataclass(frozen=True, kw_only=True)
class Meta(Making):
    studies: list[str]
    steps: dict[str, int]
    evaluations: int
    batch_sizes: dict[str, int] = field(default_factory=lambda: {"fc": 60, "conv": 64})  # results from before: these


@dataclass(frozen=True)
class Results(Shown, Record):
    """results.json of `bn-mnist explain`."""

    meta: Meta
    studies: Studies
    figures: dict[str, str]  # study -> its figure's file name
    verdicts: Verdicts = field(default_factory=Verdicts)
    kind: str = "explain"
    schema: int = SCHEMA_VERSION
