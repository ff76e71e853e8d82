"""Training: `engine` (the compiled multi-step loop), `trainer` (one network, logged and summarised), `inspection`
(measuring inside the network at every evaluation), `execution` (the settings that change the numbers), `runner`
(many runs, resumable, on local worker processes (`worker`) or a Ray cluster (`ray_backend`)) and `distribution`
(one run on many devices or machines)."""
