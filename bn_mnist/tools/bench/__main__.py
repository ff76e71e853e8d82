"""`python -m bn_mnist.tools.bench [--end-to-end | --inspection | --replicas | --norms | --overhead | --profile]
[--repeats N] [--threads N] [--out FILE]`."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import argparse
import json
from pathlib import Path

from bn_mnist.core import files
from bn_mnist.core.data import load_mnist
from bn_mnist.core.tf_startup import start_tensorflow
from bn_mnist.tools.bench import commands, engines, norms, overhead, profile, replicas

MODES = {  # what to measure instead of the engine against model.fit
    "--end-to-end": "whole commands instead: compare vs model.fit, Ray's overhead",
    "--inspection": "whole compares with log.histograms on and off: its cost",
    "--replicas": "the engine on 1, 2 and 4 replicas, synchronized and per-replica BN",
    "--norms": "the engine per normalization and BN-free init, as ratios to Keras BN",
    "--overhead": "a short run's wall time over its training time, its network kept or built anew",
    "--profile": "where a conv step's time goes, per layer, forward and backward, against its FLOPs",
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Training speed of bn-mnist, as ratios measured in one run.")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per engine (default 3)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench.json"), help="JSON results file")
    for flag, measures in MODES.items():
        parser.add_argument(flag, action="store_true", help=measures)
    parser.add_argument("--network", choices=sorted(engines.CHUNK_STEPS), help="the engines on this network only")
    parser.add_argument(
        "--threads",
        type=int,
        help="TensorFlow threads for every engine and the roofline (train.threads is 1; default: TensorFlow's own)",
    )
    args = parser.parse_args()
    start_tensorflow(args.threads, logical_cpus=max(replicas.REPLICA_COUNTS) if args.replicas else 1)
    if args.replicas:
        results, table = replicas.replica_speed(load_mnist(), args.repeats), replicas.replica_table
    elif args.norms:
        results, table = norms.norm_speed(load_mnist(), args.repeats), norms.norm_table
    elif args.overhead:
        results, table = overhead.run_overhead(load_mnist(), args.repeats), overhead.overhead_table
    elif args.profile:
        results, table = profile.conv_profile(load_mnist(), args.repeats), profile.profile_table
    elif args.end_to_end:
        results, table = commands.end_to_end(args.repeats), commands.end_to_end_table
    elif args.inspection:
        results, table = commands.inspection_cost(args.repeats), commands.inspection_table
    else:
        chunks = {args.network: engines.CHUNK_STEPS[args.network]} if args.network else engines.CHUNK_STEPS
        results, table = engines.benchmark(load_mnist(), args.repeats, chunks), engines.console_table
    print(table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_text(args.out, json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
