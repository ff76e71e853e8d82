"""`bn-mnist explain`: measure why BN helps, a module per study (`lr`, `init`, `inside`, `landscape`, `ics`, `batch`,
`plain`: each its runs, numbers, rules, report section and figure), what they share (`common`, `grid` for lr and
init, `smoothness` for landscape and ics), the landscape and covariate-shift measures and their probe (`measures`,
`probes`) and the typed results (`results`); `study` puts them on the pipeline (`lab.study`). Names only here: the
CLI's --help needs no TensorFlow."""

from bn_mnist.lab.names import Names

STUDIES = ("lr", "init", "inside", "landscape", "ics", "batch", "plain")
NAMES = Names(
    command="explain",
    part="study",
    parts=STUDIES,
    summary="Measure why BN helps: STUDY is any of lr, init, inside, landscape, ics, batch, plain (default: all).",
    seeds_help="Seeds 0..N-1 for every run (default: 10 for the FC runs, 5 for the conv runs, 10 in the batch and "
    "plain-net studies; 2 with --quick). Every number reported is over them.",
    quick_help="A smoke run (a few minutes): thin grids, a quarter of the FC steps and a sixteenth of the conv ones, 2 "
    "seeds unless --seeds.",
    rules=tuple(f"bn_mnist/studies/explain/{name}.py" for name in ("lr", "init", "landscape", "ics", "batch", "plain")),
)
