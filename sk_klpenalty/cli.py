"""Command line: ``sk-klpenalty compare`` and ``sk-klpenalty bench``.

User errors (bad arguments, missing data) end with a one-line message on
stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sk-klpenalty",
        description="Cross-entropy vs cross-entropy + Gaussian KL penalty for "
        "ordered labels.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    compare_parser = commands.add_parser(
        "compare",
        help="cross-validated baseline-vs-penalty report (the main job)",
        description="Fit cross-entropy (alpha=0), the KL penalty settings and two "
        "controls on the same repeated stratified folds; print and save a report "
        "with 95%% confidence intervals and corrected resampled t-tests.",
    )
    from .compare import command as compare_command

    compare_command.add_arguments(compare_parser)
    compare_parser.set_defaults(run=compare_command.run)

    from . import bench

    bench_parser = commands.add_parser(
        "bench", help="measure the performance ratios (loss, penalty, estimator)"
    )
    bench.add_arguments(bench_parser)
    bench_parser.set_defaults(run=bench.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        print(f"sk-klpenalty {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sk-klpenalty {args.command}: interrupted", file=sys.stderr)
        return 130
