"""Digitise the 18 published figures of the tutorial's Lesson notebook (run once; the outputs are committed).

    python tools/digitise_lesson_figures.py /tmp/lesson.ipynb

The notebook is batch-norm/Batch_Normalization_Lesson.ipynb of udacity/deep-learning at NOTEBOOK_COMMIT. Each Lesson
row is one `train_and_test(...)` cell whose output holds a PNG: validation accuracy during training, "Without Batch
Norm" plotted first, "With Batch Norm" second. The script (a) writes those PNGs, byte for byte, to
tests/data/lesson-figures/rowNN.png and (b) reads the two curves back out of them into
bn_mnist/studies/reproduce/lesson_figures.json, with the final accuracies each cell printed, so that the figures'
numbers (steps to 80% and 90%) can be judged without re-running 2017's TensorFlow.

How a figure is read (`digitise_png`), from the pixels only:
- axes: the black spines give the frame; the y axis is exactly 0..1 with a grey grid line every 0.1, the x grid lines
  are matplotlib's automatic ticks (every 10,000 steps, or every 250 for the 2,000-batch rows), 0 being the first;
  a straight-line fit through the grid lines gives pixel <-> value. Agg snaps these thin axis-aligned lines to the
  pixel holding `position + 0.5`, so a grid pixel index is on average 0.5 more than the true position: corrected.
- colours: the palette (matplotlib 2.x's #1f77b4, #ff7f0e, or 1.x's 'b', 'g') that explains the most pixels; the
  first colour is the network plotted first, checked against the legend (its upper sample is the first line).
- coverage: each pixel is unmixed into how much of each line colour covers it, over its known background (white, or
  grid grey where a grid line runs): the lines are antialiased, and the second line is drawn over the first.
- curves: each pixel column where a line is cleanly visible gives the centroid of that line's coverage. The points'
  x positions are known (0, k, 2k, ...), so the points' heights are a least squares fit: the polyline through them,
  drawn as Agg draws it (1.5 px wide, round joins), must have those centroids (`stroke_centroids`, `fit_curves`).
  Reading only the column at a point would fail where the curve zig-zags (that column's pixels lie mostly on the
  steep sides) or climbs steeply (a 0.3 px error in x is pixels in y there; the fit also corrects x a little).
  Checked on figures drawn by the same code from known values (tests/test_digitised_figures.py): within 0.3 px.
- unreadable (None): a point whose own column is not clean (the other line overlaps it, or the legend box, which
  is drawn over the lines, covers it), or which the clean columns around it do not pin to MAX_ERROR.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PNG_DIR = ROOT / "tests" / "data" / "lesson-figures"
JSON_PATH = ROOT / "bn_mnist" / "studies" / "reproduce" / "lesson_figures.json"

REPOSITORY, NOTEBOOK = "udacity/deep-learning", "batch-norm/Batch_Normalization_Lesson.ipynb"
NOTEBOOK_COMMIT = "6df85a5b97bbfebba04a9b67b444c7911ae971c6"  # the last commit that changed the notebook
NOTEBOOK_BLOB = "9eb8aca3ad64f87bbe5cf3e4274f8ed2fc15e6ff"  # git's id of the notebook's bytes at that commit
CELLS = (12, 15, 18, 21, 23, 26, 28, 31, 34, 36, 39, 42, 45, 48, 51, 54, 57, 59)  # Lesson rows 1..18
SHORT_ROWS = {2, 7, 10}  # train_and_test(..., 2000, 50): 2,000 batches, a point every 50; the others 50,000, 500
ARMS = ("no_bn", "bn")  # in plotting order
NAMES = {"no_bn": "Without Batch Norm", "bn": "With Batch Norm"}
THRESHOLDS = ("0.8", "0.9")

PALETTES = {"matplotlib 2.x": ((31, 119, 180), (255, 127, 14)), "matplotlib 1.x": ((0, 0, 255), (0, 128, 0))}
WHITE = np.array([255.0, 255.0, 255.0])
SNAP = 0.5  # Agg draws a thin axis-aligned line at position p in the pixel round(p + 0.5): see the docstring
MARGIN = 0.05  # matplotlib 2.x's axes.xmargin: the x axis spans the data and 5% more on each side
FAINT = 0.05  # coverage below this is antialiasing noise
LINE_WIDTH = 1.5  # matplotlib 2.x's lines.linewidth, 1.5 points: pixels at the notebook's 72 dpi
MAX_ERROR = 3  # a point is read only if the clean columns pin it about as well as one column pins its centroid
RIDGE = 1e-4  # a small pull to stay put, for the points that no clean column sees
HIDES = 0.5  # where the second line covers more of a pixel, the first line's coverage there is not known
SOLID = 0.6  # a column where a line is fully visible has a pixel at least this covered (1.5 px wide line)


def load_rgb(path: Path | str) -> np.ndarray:
    """The image as floats (height, width, 3), composited over white (the figure's own background is transparent)."""
    image = Image.open(path).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    white.alpha_composite(image)
    return np.asarray(white.convert("RGB"), dtype=float)


def find_frame(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """Top, bottom, left and right pixel index of the axes' spines: the long runs of dark pixels."""
    dark = rgb.sum(axis=2) < 300
    rows = np.flatnonzero(dark.sum(axis=1) > 0.5 * rgb.shape[1])
    cols = np.flatnonzero(dark.sum(axis=0) > 0.5 * rgb.shape[0])
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def nice_step(estimate: float) -> float:
    """The tick step of matplotlib's automatic locator (1, 2, 2.5 or 5 times a power of ten) nearest `estimate`."""
    scale = 10 ** np.floor(np.log10(estimate))
    return float(min((m * scale for m in (1, 2, 2.5, 5, 10)), key=lambda step: abs(np.log(step / estimate))))


def calibrate(rgb: np.ndarray, last_x: float) -> dict:
    """Pixel <-> value maps from the frame and the grid lines; `last_x` is the last point's x (sets the x margins).

    Returns the frame, the grid colour and lines, `row = ky[0] * accuracy + ky[1]`, `col = kx[0] * step + kx[1]`
    (continuous pixel indices: a pixel's centre is its index) and the tick step read from the grid spacing."""
    top, bottom, left, right = find_frame(rgb)
    inner = rgb[top + 1 : bottom, left + 1 : right]
    neutral = inner[(np.ptp(inner, axis=2) <= 2) & (inner[..., 0] < 250) & (inner[..., 0] > 100)][:, 0]
    grey = float(np.bincount(neutral.astype(int)).argmax())  # the grid lines' colour (191: #b0b0b0 at 0.8 px)
    on_grid = np.abs(inner - grey).max(axis=2) <= 2
    grid_rows = np.flatnonzero(on_grid.mean(axis=1) > 0.15) + top + 1  # the curves may hide much of a line
    grid_cols = np.flatnonzero(on_grid.mean(axis=0) > 0.3) + left + 1
    rows = np.r_[top, grid_rows, bottom]
    values = np.round((bottom - rows) / (bottom - top) * 10) / 10  # which tenth each line is
    ky = np.polyfit(values, rows, 1)
    spacing = float(np.median(np.diff(grid_cols)))
    ticks = np.round((grid_cols - grid_cols[0]) / spacing)
    tick_step = nice_step(spacing * (1 + 2 * MARGIN) * last_x / (right - left))
    kx = np.polyfit(ticks * tick_step, grid_cols, 1)
    for k, (fit_values, pixels) in (("y", (values, rows)), ("x", (ticks * tick_step, grid_cols))):
        fit = ky if k == "y" else kx
        if np.abs(np.polyval(fit, fit_values) - pixels).max() > 1:
            raise ValueError(f"the {k} grid lines are not evenly spaced")
    if abs(np.polyval(kx, -MARGIN * last_x) - left) > 1.5:
        raise ValueError("the x axis does not start 5% before 0: not matplotlib's automatic x limits")
    ky[1] -= SNAP
    kx[1] -= SNAP
    return {
        "frame": (top, bottom, left, right),
        "grey": grey,
        "grid": (grid_rows, grid_cols),
        "ky": ky,
        "kx": kx,
        "tick_step": tick_step,
    }


def legend_box(rgb: np.ndarray, frame: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Top, bottom, left, right of the legend's frame (light grey #cccccc at 0.8 px: 214) inside the axes."""
    top, bottom, left, right = frame
    edge = np.abs(rgb[top + 1 : bottom, left + 1 : right] - 214).max(axis=2) <= 1
    rows = np.flatnonzero(edge.sum(axis=1) > 30) + top + 1
    cols = np.flatnonzero(edge.sum(axis=0) > 15) + left + 1
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def find_colours(rgb: np.ndarray, cal: dict, legend: tuple[int, int, int, int]) -> tuple[str, np.ndarray]:
    """The palette whose two colours, blended with white, explain the most pixels; the first colour plotted first.

    Checked against the legend: its upper line sample is the first line's colour."""

    def share(colour: tuple[int, int, int], pixels: np.ndarray) -> np.ndarray:
        """Which pixels are white partly covered by `colour` (within 4 levels per channel)."""
        direction = WHITE - np.array(colour, dtype=float)
        alpha = np.clip((WHITE - pixels) @ direction / (direction @ direction), 0, 1)
        return (np.abs(WHITE - alpha[..., None] * direction - pixels).max(axis=-1) <= 4) & (alpha > 0.3)

    top, bottom, left, right = cal["frame"]
    inner = rgb[top + 1 : bottom, left + 1 : right]
    name = max(PALETTES, key=lambda p: sum(int(share(c, inner).sum()) for c in PALETTES[p]))
    first, second = PALETTES[name]
    box = rgb[legend[0] : legend[1] + 1, legend[2] : legend[3] + 1]
    rows = [np.flatnonzero(share(c, box).any(axis=1)).mean() for c in (first, second)]
    if not rows[0] < rows[1]:
        raise ValueError("the legend's upper sample is not the first colour")
    return name, np.array([first, second], dtype=float)


def coverage(rgb: np.ndarray, cal: dict, colours: np.ndarray, legend: tuple[int, ...]) -> np.ndarray:
    """(height, width, 2): how much of each pixel each line covers, 0 outside the axes and in the legend box.

    A pixel is background b (white, or the grid's grey) covered by the first line (alpha a1) and then the second (a2):
    p - b = a2 (c2 - b) + (1 - a2) a1 (c1 - b), linear in a2 and the first line's visible share, (1 - a2) a1; a1
    itself is known where a2 <= HIDES (elsewhere the pixel holds the visible share, and hides the first line)."""
    top, bottom, left, right = cal["frame"]
    grid_rows, grid_cols = cal["grid"]
    background = np.full(rgb.shape[:2], 255.0)  # a neutral grey level per pixel
    background[grid_rows, :] = background[:, grid_cols] = cal["grey"]
    crossings = np.ix_(grid_rows, grid_cols)
    background[crossings] = np.median(rgb[crossings][..., 0])  # where two grid lines cross: darker still
    alpha = np.zeros((*rgb.shape[:2], 2))
    for level in np.unique(background):
        b = np.full(3, level)
        where = background == level
        mix = np.stack([colours[0] - b, colours[1] - b], axis=1)  # (3, 2)
        alpha[where] = (rgb[where] - b) @ np.linalg.pinv(mix).T
    alpha[: top + 1] = alpha[bottom:] = 0
    alpha[:, : left + 1] = alpha[:, right:] = 0
    lt, lb, ll, lr = legend
    alpha[lt - 1 : lb + 2, ll - 1 : lr + 2] = 0  # the legend is drawn over the lines: nothing to read there
    alpha = np.clip(alpha, 0, 1)
    thin = alpha[..., 1] <= HIDES
    alpha[..., 0][thin] /= 1 - alpha[..., 1][thin]  # the first line's own coverage, where the second lets it show
    return alpha


def column_centroids(alpha: np.ndarray, line: int, blocked: np.ndarray) -> np.ndarray:
    """Per pixel column, the centroid row of one line's coverage where it is cleanly visible, else NaN.

    `blocked` marks the pixels where the line could be hidden: the spines, the legend box (drawn over the lines) and,
    for the first line, the pixels the second line hides. Clean: the line's run of pixels in the column has a solid
    pixel, no blocked pixel, and ends in the open: where a blocked pixel adjoins it, the run holds a whole nearly
    flat line (a line's width of coverage: its edges are level) and its end pixel there is only partly covered (the
    line's edge is inside it, not beyond)."""
    height, width, _ = alpha.shape
    centroids = np.full(width, np.nan)
    for col in range(width):
        values = alpha[:, col, line]
        peak = int(values.argmax())
        if values[peak] < SOLID:
            continue
        start, stop = peak, peak + 1
        while start > 0 and values[start - 1] > FAINT:
            start -= 1
        while stop < height and values[stop] > FAINT:
            stop += 1
        if blocked[start:stop, col].any():
            continue
        level = 0.95 * LINE_WIDTH <= values[start:stop].sum() <= 1.1 * LINE_WIDTH  # a whole, nearly flat line
        ends = ((start, start - 1), (stop - 1, stop))
        if any(blocked[beyond, col] and not (level and values[end] < 0.9) for end, beyond in ends):
            continue
        rows = np.arange(start, stop)
        centroids[col] = (values[start:stop] * rows).sum() / values[start:stop].sum()
    return centroids


def blocked_pixels(alpha: np.ndarray, line: int, frame: tuple[int, ...], legend: tuple[int, ...]) -> np.ndarray:
    """Where a line may be hidden: outside the axes' inside, the legend box and (first line) under the second."""
    top, bottom, left, right = frame
    lt, lb, ll, lr = legend
    blocked = np.ones(alpha.shape[:2], dtype=bool)
    blocked[top + 1 : bottom, left + 1 : right] = False
    blocked[lt - 1 : lb + 2, ll - 1 : lr + 2] = True
    return blocked | (alpha[..., 1] > HIDES) if line == 0 else blocked


def stroke_centroids(cols: np.ndarray, xs: np.ndarray, ys: np.ndarray, sub: int = 16) -> np.ndarray:
    """The centroid row, in each pixel column, of the line Agg draws through the points (xs, ys) (NaN: none there).

    The line is matplotlib's: LINE_WIDTH wide, round joins, projecting caps. Each column is cut into `sub` vertical
    lines; on each, the stroke covers one interval (the union of the nearby segments' rectangles and joins' discs)."""
    r = LINE_WIDTH / 2
    start, stop = np.stack([xs[:-1], ys[:-1]], axis=1), np.stack([xs[1:], ys[1:]], axis=1)
    length = np.hypot(*(stop - start).T)
    ux, uy = (stop - start).T / length
    start[0] -= r * np.array([ux[0], uy[0]])  # the projecting caps: the ends reach half a width further
    length[0] += r
    length[-1] += r
    x = (cols[:, None] + (np.arange(sub) + 0.5) / sub - 0.5).ravel()
    j = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
    seg = np.clip(j[:, None] + np.array([-1, 0, 1]), 0, len(xs) - 2)  # the segments that can reach this x
    dx = x[:, None] - start[seg, 0]
    across_lo, across_hi = [start[seg, 1] + (dx * uy[seg] + s * r) / ux[seg] for s in (-1, 1)]
    with np.errstate(divide="ignore", invalid="ignore"):  # along the segment: 0 <= position <= length
        a, b = -dx * ux[seg] / uy[seg], (length[seg] - dx * ux[seg]) / uy[seg]
    flat = uy[seg] == 0
    along_lo = np.where(flat, np.where((dx >= 0) & (dx <= length[seg]), -np.inf, np.inf), np.minimum(a, b))
    along_hi = np.where(flat, np.inf, np.maximum(a, b))
    lo = np.maximum(across_lo, along_lo + start[seg, 1])
    hi = np.minimum(across_hi, along_hi + start[seg, 1])
    empty = lo > hi
    lo, hi = np.where(empty, np.inf, lo), np.where(empty, -np.inf, hi)
    vertex = np.clip(j[:, None] + np.array([0, 1]), 1, len(xs) - 2)  # the joins: discs at the inner points
    half = np.sqrt(np.clip(r**2 - (x[:, None] - xs[vertex]) ** 2, 0, None))
    near = np.abs(x[:, None] - xs[vertex]) <= r
    lo = np.minimum(lo.min(axis=1), np.where(near, ys[vertex] - half, np.inf).min(axis=1))
    hi = np.maximum(hi.max(axis=1), np.where(near, ys[vertex] + half, -np.inf).max(axis=1))
    covered = hi > lo
    lo, hi = np.where(covered, lo, 0), np.where(covered, hi, 0)
    area = (hi - lo).reshape(len(cols), sub).sum(axis=1)
    moment = ((hi**2 - lo**2) / 2).reshape(len(cols), sub).sum(axis=1)
    return np.where(area > 0.1, moment / np.maximum(area, 0.1), np.nan)


def fit_curves(centroids: list[np.ndarray], xs: np.ndarray, iterations: int = 6) -> tuple[list, list, np.ndarray]:
    """The vertex rows of both lines, and a correction to the points' x positions, that best explain the clean columns.

    Gauss-Newton on the centroids. `stroke_centroids` is exact to ~0.05 px given the true positions, but the x
    calibration from the snapped grid lines is only good to ~0.3 px, and on a steep segment that is pixels in y: the
    lines themselves pin the x shift and stretch. The Jacobian is by finite differences, three evaluations for all
    points (points three apart move disjoint columns). Returns the rows, their standard errors (in units of one
    column centroid's) and the corrected x positions."""
    n = len(xs)
    cols = [np.flatnonzero(~np.isnan(c)) for c in centroids]
    rows = []
    for c in centroids:  # start from the centroid in each point's own column
        own = c[np.round(xs).astype(int)]
        ok = ~np.isnan(own)
        rows.append(np.interp(xs, xs[ok], own[ok]) if ok.any() else np.zeros(n))
    along = (xs - xs[0]) / (xs[-1] - xs[0])
    ramps = np.stack([1 - along, along])  # the x correction: `fix[0]` at the first point, `fix[1]` at the last
    fix, eps = np.zeros(2), 0.01
    groups = [np.arange(group, n, 3) for group in range(3)]
    for _ in range(iterations):
        at = xs + fix @ ramps
        design = np.zeros((sum(map(len, cols)), 2 * n + 2))
        residuals = []
        for line, (c, k, y) in enumerate(zip(centroids, cols, rows)):
            block = slice(sum(map(len, cols[:line])), sum(map(len, cols[: line + 1])))
            model = stroke_centroids(k, at, y)
            residuals.append(np.nan_to_num(c[k] - model))
            for points in groups:
                bumped = y.copy()
                bumped[points] += eps
                change = np.nan_to_num((stroke_centroids(k, at, bumped) - model) / eps)
                point = points[np.abs(at[points][None, :] - k[:, None]).argmin(axis=1)]  # the one that moved it
                design[np.arange(block.start, block.stop), line * n + point] = change
            for j, ramp in enumerate(ramps):
                design[block, 2 * n + j] = np.nan_to_num((stroke_centroids(k, at + eps * ramp, y) - model) / eps)
        normal = design.T @ design + RIDGE * np.eye(2 * n + 2)
        step = np.linalg.solve(normal, design.T @ np.concatenate(residuals))
        rows = [rows[0] + step[:n], rows[1] + step[n : 2 * n]]
        fix += step[2 * n :]
    errors = np.sqrt(np.diag(np.linalg.inv(normal)))
    return rows, [errors[:n], errors[n : 2 * n]], xs + fix @ ramps


def digitise_png(path: Path | str, steps_per_point: int, n_points: int) -> dict:
    """Read both curves out of one figure; the points are at x = 0, steps_per_point, ..., (n_points - 1) * it.

    Returns the x positions, both curves (accuracy per point, None where unreadable), the resolution (accuracy and
    steps per pixel), the palette, the x tick step found and the legend box (in steps and accuracy)."""
    rgb = load_rgb(path)
    x = np.arange(n_points) * steps_per_point
    cal = calibrate(rgb, float(x[-1]))
    legend = legend_box(rgb, cal["frame"])
    palette, colours = find_colours(rgb, cal, legend)
    alpha = coverage(rgb, cal, colours, legend)
    xs = np.polyval(cal["kx"], x)
    lines = range(len(ARMS))
    centroids = [column_centroids(alpha, line, blocked_pixels(alpha, line, cal["frame"], legend)) for line in lines]
    rows, errors, xs = fit_curves(centroids, xs)
    curves = {}
    for arm, c, y, error in zip(ARMS, centroids, rows, errors):
        readable = ~np.isnan(c[np.round(xs).astype(int)]) & (error <= MAX_ERROR)
        accuracy = (y - cal["ky"][1]) / cal["ky"][0]
        curves[arm] = [round(float(a), 4) if ok else None for a, ok in zip(accuracy, readable)]
    return {
        "x": [int(v) for v in x],
        "curves": curves,
        "y_resolution": round(float(-1 / cal["ky"][0]), 6),
        "x_resolution": round(float(1 / cal["kx"][0]), 3),
        "palette": palette,
        "x_tick_step": cal["tick_step"],
        "legend_box": {
            "x": [round(float((c - cal["kx"][1]) / cal["kx"][0])) for c in legend[2:]],
            "accuracy": [round(float((r - cal["ky"][1]) / cal["ky"][0]), 4) for r in legend[1::-1]],
        },
    }


def first_reach(x: list[int], accuracy: list[float | None], threshold: float) -> int | None:
    """The first x whose (readable) point is >= threshold; None if none is."""
    return next((step for step, a in zip(x, accuracy) if a is not None and a >= threshold), None)


def figure_record(row: int, png: Path | str, printed_final: dict[str, float]) -> dict:
    """Everything the JSON holds about one Lesson row, from its PNG and the final accuracies its cell printed."""
    steps = 50 if row in SHORT_ROWS else 500
    figure = digitise_png(png, steps, (2000 if row in SHORT_ROWS else 50000) // steps)
    reach = {arm: {t: first_reach(figure["x"], figure["curves"][arm], float(t)) for t in THRESHOLDS} for arm in ARMS}
    return {
        "row": row,
        "cell": CELLS[row - 1],
        "notebook_commit": NOTEBOOK_COMMIT,
        "steps_per_point": steps,
        **figure,
        "reach": reach,
        "printed_final": printed_final,
    }


def git_blob_id(data: bytes) -> str:
    """The id git gives a file with these bytes (to check the notebook is the one at NOTEBOOK_COMMIT)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def read_cell(cell: dict) -> tuple[bytes, dict[str, float]]:
    """A Lesson cell's PNG (decoded, byte for byte) and the final validation accuracies it printed."""
    (png,) = [base64.b64decode(o["data"]["image/png"]) for o in cell["outputs"] if "image/png" in o.get("data", {})]
    text = "".join("".join(o.get("text", "")) for o in cell["outputs"])
    final = {}
    for arm in ARMS:
        pattern = rf"^{NAMES[arm]}: After training, final accuracy on validation set = ([0-9.]+)$"
        (value,) = re.findall(pattern, text, flags=re.MULTILINE)
        final[arm] = float(value)
    return png, final


def to_json(document: dict) -> str:
    """The JSON text, indented, with each list of numbers on one line."""
    text = json.dumps(document, indent=1)
    return re.sub(r"\[\s+([^][{}]*?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def main(argv: list[str]) -> None:
    """Extract the 18 PNGs from the notebook and write their digitised curves."""
    (notebook,) = argv
    data = Path(notebook).read_bytes()
    if git_blob_id(data) != NOTEBOOK_BLOB:
        raise SystemExit(f"{notebook} is not {NOTEBOOK} at {REPOSITORY}@{NOTEBOOK_COMMIT}")
    cells = json.loads(data)["cells"]
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    figures = []
    for row, index in enumerate(CELLS, start=1):
        source = "".join(cells[index]["source"])
        if not source.startswith("train_and_test(") or (", 2000, 50)" in source) != (row in SHORT_ROWS):
            raise SystemExit(f"cell {index} is not Lesson row {row}: {source!r}")
        png, final = read_cell(cells[index])
        path = PNG_DIR / f"row{row:02d}.png"
        path.write_bytes(png)
        figures.append(figure_record(row, path, final))
    document = {
        "source": {"repository": REPOSITORY, "path": NOTEBOOK, "commit": NOTEBOOK_COMMIT, "blob": NOTEBOOK_BLOB},
        "made_by": "tools/digitise_lesson_figures.py (its docstring says how; None: a point hidden or undetermined)",
        "figures": figures,
    }
    JSON_PATH.write_text(to_json(document), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
