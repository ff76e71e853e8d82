"""`bn-mnist explain`: measure why BN helps (learning-rate range, initialisation scale, inside the network, the loss
landscape, internal covariate shift, batch size). Names only here: the CLI's --help needs no TensorFlow."""

STUDIES = ("lr", "init", "inside", "landscape", "ics", "batch")
