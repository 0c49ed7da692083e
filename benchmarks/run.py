"""Run the performance measurements of sk_klpenalty and print their table.

    python benchmarks/run.py [--quick] [--device cuda] [--json FILE]

Each timed row is the median of interleaved repeats after a warm-up, with a
distribution-free 95% CI of the median; a verdict whose CI spans its target
is marked ``yes?`` or ``no?``. A missed target is a result (exit 0).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from dataclasses import replace
from pathlib import Path

# The sibling scripts, then the checkout's package (ahead of an installed one).
sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

import numpy as np  # noqa: E402
import skorch  # noqa: E402
import torch  # noqa: E402
from common import FULL, QUICK, SMOKE, describe, format_table  # noqa: E402
from memory import memory_rows  # noqa: E402
from shape import shape_rows  # noqa: E402
from timings import (  # noqa: E402
    bf16_rows,
    layout_rows,
    loss_rows,
    overhead_rows,
    step_rows,
)

NOTES = (
    "File-backed RSS: indexing a memory map per batch makes the pages read count "
    "as file-backed RSS; they are page cache the kernel can reclaim, not copies."
)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"run.py: error: {message}\n")


def parse(argv) -> argparse.Namespace:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--repeats", type=int, help="timed repeats per row")
    parser.add_argument("--json", metavar="FILE", help="also write every number")
    args = parser.parse_args(argv)
    try:
        args.device = torch.device(args.device)
    except (RuntimeError, ValueError):
        parser.error(f"--device must be cpu or cuda, got {args.device!r}")
    if args.device.type not in ("cpu", "cuda"):
        parser.error(f"--device must be cpu or cuda, got {args.device}")
    if args.device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    if args.repeats is not None and args.repeats < 2:
        parser.error("--repeats must be at least 2")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        parser.error(f"--json: no folder for {args.json}")
    return args


def cuda_bf16() -> bool:
    if not torch.cuda.is_available():
        return False
    return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def machine(device: torch.device) -> dict:
    cpu, flags = platform.processor() or platform.machine(), ""
    if Path("/proc/cpuinfo").exists():
        info = dict(
            line.partition(":")[::2]
            for line in Path("/proc/cpuinfo").read_text().splitlines()[:40]
        )
        info = {key.strip(): value.strip() for key, value in info.items()}
        cpu, flags = info.get("model name", cpu), info.get("flags", "").split()
        native = {"avx512_bf16", "amx_bf16"} & set(flags)
        cpu += f" (bf16 {'native: ' + ', '.join(native) if native else 'emulated'})"
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch threads": torch.get_num_threads(),
        "load average": " ".join(f"{x:.2f}" for x in load),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "numpy": np.__version__,
        "device": f"{device}{gpu}",
        "CUDA bf16": "yes" if cuda_bf16() else "no",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def measure(device: torch.device, sizes) -> tuple[list, dict]:
    loss, loss_times = loss_rows(device, sizes)
    rows = loss + step_rows(device, sizes, loss_times) + overhead_rows(device, sizes)
    bf16 = device.type == "cpu" or cuda_bf16()
    rows += bf16_rows(device, sizes, bf16) + layout_rows(device, sizes)
    rows += memory_rows(device, sizes)
    shape, package = shape_rows()
    return rows + shape, package


def main(argv=None) -> int:
    args = parse(argv)
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.repeats:
        sizes = replace(sizes, repeats=args.repeats)
    info = machine(args.device)
    print("sk_klpenalty benchmarks" + " --quick" * args.quick + " --smoke" * args.smoke)
    for key, value in {**info, "sizes": describe(sizes)}.items():
        print(f"  {key + ':':<15}{value}")
    print(flush=True)
    rows, package = measure(args.device, sizes)
    print(format_table(rows))
    print()
    names = package["overrides"][package["most"]]
    print(f"skorch methods overridden by {package['most']}: {', '.join(names)}")
    for row in rows:
        if row.note:
            print(f"{row.name}: {row.note}")
    if sizes.repeats < 6:
        print("With fewer than 6 repeats a CI is the min-max (coverage < 95%).")
    print(NOTES)
    if args.json:
        report = {
            "machine": info,
            "sizes": vars(sizes),
            "package": package,
            "rows": [row.as_dict() for row in rows],
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
