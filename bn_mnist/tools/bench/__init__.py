"""Training speed, as ratios measured in one run (machines differ by 3-4x; a ratio of two engines timed
round-robin on the same machine does not).

    # the engine against Keras model.fit: 3 repeats, ~8 min on 2 cores
    python -m bn_mnist.tools.bench
    python -m bn_mnist.tools.bench --repeats 5 --out runs/bench.json
    # the engine at train.threads, as every command runs it
    python -m bn_mnist.tools.bench --threads 1
    # whole commands, ~4 min a repeat
    python -m bn_mnist.tools.bench --end-to-end --out runs/bench-end-to-end.json
    # log.histograms' cost, ~2 min a repeat
    python -m bn_mnist.tools.bench --inspection --out runs/bench-inspection.json
    # data parallelism, ~1 min a repeat
    python -m bn_mnist.tools.bench --replicas --out runs/bench-replicas.json

`engines` (this project's engine with XLA on and off against `model.fit` as a user writes it and tuned),
`commands` (whole commands' wall time: compare against model.fit by hand, Ray's cost, inside-the-network logging's
cost), `replicas` (steps/s on 1, 2 and 4 replicas); `timing` holds what they share. Tests call the functions.
"""
