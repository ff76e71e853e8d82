"""Every quote of the tutorial in the rules (reproduction/claims.py) stands word for word in its notebook's text
(tests/data/notebooks/, extracted by tools/notebook_text.py); markdown emphasis aside."""

from __future__ import annotations

import re
from pathlib import Path

from bn_mnist.studies.reproduce import claims

NOTEBOOKS = Path(__file__).resolve().parent / "data" / "notebooks"


def plain(text: str) -> str:
    """Text as read: emphasis marks and line breaks dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"(?<!\w)[_*]+|[_*]+(?!\w)", "", text))


def test_every_quote_is_verbatim():
    text = {name: plain((NOTEBOOKS / f"{name}.md").read_text()) for name in ("lesson", "solutions")}
    quoted = [r for r in claims.all_claims() if isinstance(r, claims.Remark) and r.verbatim]
    assert len(quoted) > 30
    for remark in quoted:
        notebook = "solutions" if remark.source.startswith("Solutions") else "lesson"
        assert plain(remark.said) in text[notebook], (remark.source, remark.said)


def test_a_paraphrase_fails_the_check():
    lesson = plain((NOTEBOOKS / "lesson.md").read_text())
    assert plain("Using batch normalization gets to 90% in around one thousand batches") in lesson
    assert plain("BN gets to 90% in around one thousand batches") not in lesson
