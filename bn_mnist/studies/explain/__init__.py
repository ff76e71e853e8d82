"""`bn-mnist explain`: measure why BN helps (learning-rate range, initialisation scale, inside the network, the loss
landscape, internal covariate shift, batch size, the deep plain net without BN): the studies, budget and plan
(`studies`), the measures and their probe (`measures`, `probes`), the numbers over seeds (`analysis`), the verdict
rules (`claims`), the typed results (`results`), `figures` and `report`; `explain` runs them. Names only here: the
CLI's --help needs no TensorFlow."""

STUDIES = ("lr", "init", "inside", "landscape", "ics", "batch", "plain")
