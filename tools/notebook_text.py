"""Extract the markdown text of the tutorial's two notebooks, once, so that tests can check every quote in
bn_mnist/studies/reproduce/claims.py word for word without the notebooks (they are not downloadable at run time).

    python tools/notebook_text.py Batch_Normalization_Lesson.ipynb Batch_Normalization_Solutions.ipynb

The notebooks are batch-norm/ in the public repository udacity/deep-learning; each markdown cell is written with
its index, as `<!-- cell N -->`, into tests/data/notebooks/<lesson|solutions>.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "notebooks"


def markdown_cells(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "".join(
        f"<!-- cell {i} -->\n{''.join(cell['source'])}\n\n"
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "markdown"
    )


def main(paths: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for path in map(Path, paths):
        name = "lesson" if "lesson" in path.name.lower() else "solutions"
        (OUT / f"{name}.md").write_text(markdown_cells(path), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
