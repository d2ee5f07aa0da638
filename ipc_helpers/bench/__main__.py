"""Command line: ``python -m ipc_helpers.bench --quick|--full [--check] [--json FILE]``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from .catalogue import FREE, ONE_CPU
from .honesty import TARGET, agreement_table, cross_check, worst
from .run import run_benchmark


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; with ``--check`` (always with ``--full``), the honesty check too.

    Exit status 1 when a figure and its independent measurement disagree by
    more than ``TARGET`` (1.5x); 2 for bad arguments.
    """
    parser = argparse.ArgumentParser(
        prog="python -m ipc_helpers.bench",
        description="Measure Python's IPC mechanisms beside raw OS primitives driven from Python.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--quick",
        action="store_const",
        const="quick",
        dest="mode",
        help="about 10 s (the default)",
    )
    which.add_argument(
        "--full",
        action="store_const",
        const="full",
        dest="mode",
        help="more rounds, a 64 MiB SharedMemory transfer, and the honesty check",
    )
    parser.add_argument("--free", action="store_true", help="do not pin the processes to one CPU")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement to FILE")
    parser.add_argument(
        "--time-limit", type=float, metavar="S", help="stop starting new parts after S seconds"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"measure every figure again, independently; exit 1 past a {TARGET}x difference",
    )
    args = parser.parse_args(argv)
    mode = args.mode or "quick"

    def progress(text: str) -> None:
        print(f"  ... {text}", file=sys.stderr, flush=True)

    try:
        result = run_benchmark(
            mode,
            placement=FREE if args.free else ONE_CPU,
            time_limit=args.time_limit,
            progress=progress,
        )
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    print(result.table())
    rows = cross_check(result, progress=progress) if args.check or mode == "full" else []
    if rows:
        print(
            "\nhonesty check: each figure measured again by fresh processes, timed by the "
            "receiver;\na figure that disagreed is measured again in pairs (tries), fastest "
            "round of each side"
        )
        print(agreement_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "mode": result.mode,
                    "start_method": result.start_method,
                    "cpus": result.cpus,
                    "placement": result.placement,
                    "placement_note": result.placement_note,
                    "seconds": result.seconds,
                    "skipped": result.skipped,
                    "measurements": result.records(),
                    "honesty_check": [{**asdict(row), "ratio": row.ratio} for row in rows],
                },
                out,
                indent=1,
            )
    return 1 if rows and worst(rows) > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
