"""Training: `engine` (the compiled multi-step loop), `trainer` (one network, logged and summarised), `runlog`
(output files and metric names) and `runner` (many runs in parallel worker processes, resumable)."""
