"""One vocabulary for every study's verdicts, and one way to state a rule: as data, whose text and words come from
the rule itself, so that a report prints the rule the code applied and never judges.

A rule has parts and a policy. A part turns one number over seeds into a word: `Paired` places a paired effect's 95%
t interval against a band, `Fraction` places a fraction's 95% Wilson interval against 1/2, `Share` asks an invariant
of every seed. The policy's first clause that holds gives the verdict, else its `otherwise`. A claim judged per
panel (or per layer) applies its parts and policy to each, then `across` to the panels' words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bn_mnist.core.records import Record, optional
from bn_mnist.lab.stats import PAIRED_LEVEL, WILSON_LEVEL, FractionVerdict, PairedEffect

SUPPORTED, PARTLY, NOT_SUPPORTED, INCONCLUSIVE = "supported", "partly supported", "not supported", "inconclusive"
WORDS = (SUPPORTED, PARTLY, NOT_SUPPORTED, INCONCLUSIVE)  # a claim's verdict
UNDECIDED = "undecided"  # a part whose interval lies across a bound, or that has no number: the seeds cannot decide
HOLDS, FAILS = "holds", "fails"  # a part of a failure's rule (pitfalls): as said, or the other way
MARGIN = 0.01  # accuracy differences within one point count as none
EVERY, SOME, NO = "every", "some", "no"


@dataclass(frozen=True)
class Verdict(Record):
    """A claim, the text of the rule that judged it, the word the rule gave and the word of each of its parts."""

    claim: str
    rule: str
    word: str
    parts: dict[str, str] = field(default_factory=dict)  # part (or "<panel>: <part>", and each panel) -> its word
    judged_later: bool | None = optional()  # True: by today's rule, after the runs, from the results' numbers
    detail: str | None = optional()  # results of schema 1 wrote these two; today's rules put their words in `parts`
    counts: dict[str, int] | None = optional()


def either(words: tuple[str, ...]) -> str:
    return " or ".join(words)


@dataclass(frozen=True)
class Paired:
    """A paired effect (`what`, in the same seed) by where its interval lies: wholly above `high`, wholly below
    `low`, or inside (low, high); each place a rule names has its word, any other is UNDECIDED."""

    name: str
    what: str
    above: str | None = None
    within: str | None = None
    below: str | None = None
    low: float = -MARGIN
    high: float = MARGIN

    def word(self, effect: PairedEffect | None) -> str:
        if effect is None or effect.interval is None:
            return UNDECIDED
        start, end = effect.interval
        if start > self.high and self.above:
            return self.above
        if end < self.low and self.below:
            return self.below
        inside = self.low < start and end < self.high
        return self.within if inside and self.within else UNDECIDED

    def text(self) -> str:
        band = f"+-{self.high:g}" if self.low == -self.high else f"{self.low:g}..{self.high:g}"
        places = [
            (self.above, f"above {self.high:g}"),
            (self.within, f"within {band}"),
            (self.below, f"below {self.low:g}"),
        ]
        said = ", ".join(f"{word} if it lies {where}" for word, where in places if word)
        return f"{self.name}: {self.what}, same seed, with its {PAIRED_LEVEL:.0%} t interval: {said}, else {UNDECIDED}"


@dataclass(frozen=True)
class Fraction:
    """How often a property holds over seeds (`what`), by where its Wilson interval lies against 1/2."""

    name: str
    what: str
    above: str
    below: str

    def word(self, found: FractionVerdict | None) -> str:
        if found is None:
            return UNDECIDED
        start, end = found.wilson_95
        return self.above if start > 0.5 else self.below if end < 0.5 else UNDECIDED

    def text(self) -> str:
        return (
            f"{self.name}: the fraction of seeds where {self.what}, with its {WILSON_LEVEL:.0%} Wilson interval: "
            f"{self.above} if it lies above 1/2, {self.below} if below, else {UNDECIDED}"
        )


@dataclass(frozen=True)
class Share:
    """An invariant: `measure` of `arm` equals `value` exactly in every seed. It holds when every seed measured has it
    (two at least), fails when any lacks it, else (fewer than two measured) is undecided."""

    name: str
    arm: str
    measure: str
    value: float

    def word(self, seeds: list[bool | None] | None) -> str:
        measured = [holds for holds in seeds or [] if holds is not None]
        if not all(measured):
            return FAILS
        return HOLDS if len(measured) >= 2 else UNDECIDED

    def text(self) -> str:
        return f"{self.name}: {self.measure} of {self.arm} exactly {self.value:g} in every seed: {HOLDS} if so"


Part = Paired | Fraction | Share


@dataclass(frozen=True)
class Of:
    """`quantifier` (EVERY, SOME or NO) of `parts` gave one of `words`; no parts: of every part the policy judges."""

    quantifier: str
    words: tuple[str, ...]
    parts: tuple[str, ...] = ()

    def holds(self, found: Mapping[str, str]) -> bool:
        given = [found.get(part, UNDECIDED) for part in self.parts] if self.parts else list(found.values())
        hits = [word in self.words for word in given]
        return all(hits) if self.quantifier == EVERY else any(hits) if self.quantifier == SOME else not any(hits)

    def text(self, noun: str) -> str:
        if len(self.parts) == 1:
            return f"{self.parts[0]} {'does not say' if self.quantifier == NO else 'says'} {either(self.words)}"
        counted = f"{noun} of {', '.join(self.parts)}" if self.parts else noun
        return f"{self.quantifier} {counted} says {either(self.words)}"


@dataclass(frozen=True)
class Clause:
    """`word` when any of `when`'s alternatives holds, each a conjunction."""

    word: str
    when: tuple[tuple[Of, ...], ...]

    def text(self, noun: str) -> str:
        alternatives = [" and ".join(atom.text(noun) for atom in conjunction) for conjunction in self.when]
        return f"{self.word} if {' or '.join(alternatives)}"


@dataclass(frozen=True)
class Policy:
    """The parts' words to one word: the first clause that holds, else `otherwise`; `noun` names what its
    quantifiers count (part, panel, layer, measure)."""

    clauses: tuple[Clause, ...]
    otherwise: str = INCONCLUSIVE
    noun: str = "part"

    def word(self, found: Mapping[str, str]) -> str:
        for clause in self.clauses:
            if any(all(atom.holds(found) for atom in conjunction) for conjunction in clause.when):
                return clause.word
        return self.otherwise

    def text(self) -> str:
        return "; ".join([*(clause.text(self.noun) for clause in self.clauses), f"else {self.otherwise}"])


def every(*words: str, of: tuple[str, ...] = ()) -> Of:
    """Every one of the parts `of` (none named: every part) says one of `words`."""
    return Of(EVERY, words, of)


def some(*words: str, of: tuple[str, ...] = ()) -> Of:
    return Of(SOME, words, of)


def no(*words: str, of: tuple[str, ...] = ()) -> Of:
    return Of(NO, words, of)


Condition = Of | tuple[Of, ...] | list[tuple[Of, ...]]  # one atom, a conjunction, or alternative conjunctions


def clause(word: str, condition: Condition) -> Clause:
    if isinstance(condition, Of):
        return Clause(word, ((condition,),))
    return Clause(word, tuple(condition) if isinstance(condition, list) else (condition,))


def verdict_policy(
    supported: Condition, partly: Condition | None = None, not_supported: Condition | None = None, noun: str = "part"
) -> Policy:
    """A claim's policy: supported, partly supported and not supported when their conditions hold, in that order;
    else inconclusive."""
    words = ((SUPPORTED, supported), (PARTLY, partly), (NOT_SUPPORTED, not_supported))
    return Policy(tuple(clause(word, found) for word, found in words if found is not None), noun=noun)


AGREE = Policy(  # a claim judged per panel: the panels' word when they agree, else partly if some supports it
    (*(clause(word, every(word)) for word in WORDS), clause(PARTLY, some(SUPPORTED, PARTLY))), noun="panel"
)


@dataclass(frozen=True)
class Rule:
    """A claim and the rule that judges it: parts, a policy over their words and, when it is judged per panel (per
    layer), `across`, a policy over the panels' words."""

    claim: str
    parts: tuple[Part, ...]
    policy: Policy
    per: str = ""  # "panel", "layer": the numbers come per panel
    across: Policy | None = None
    note: str = ""  # a remark the text ends with

    def text(self) -> str:
        parts = "; ".join(f"({i}) {part.text()}" for i, part in enumerate(self.parts, start=1))
        text = f"{'per ' + self.per + ', ' if self.per else ''}{parts}. {self.policy.text()}"
        if self.across is not None:
            text += f". Over the {self.per}s: {self.across.text()}"
        return text + (f". {self.note}" if self.note else "")

    def words(self, numbers: Mapping[str, Any]) -> dict[str, str]:
        """Each part's word, for the parts that have a number (None: one that could not be measured)."""
        return {part.name: part.word(numbers[part.name]) for part in self.parts if part.name in numbers}

    def judge(self, numbers: Mapping[str, Any]) -> Verdict:
        """The verdict on the parts' numbers (per panel: panel -> part -> number)."""
        if self.across is None:
            words = self.words(numbers)
            return Verdict(self.claim, self.text(), self.policy.word(words), words)
        found: dict[str, str] = {}
        for panel, panel_numbers in numbers.items():
            words = self.words(panel_numbers)
            found |= {panel: self.policy.word(words)} | {f"{panel}: {name}": word for name, word in words.items()}
        return Verdict(self.claim, self.text(), self.across.word({panel: found[panel] for panel in numbers}), found)
