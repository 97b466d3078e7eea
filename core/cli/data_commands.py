"""``etd info`` and ``etd demo-data``: look at a data file, or make a synthetic one."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core.cli.common import add_data_options, read_data_from_args
from core.cli.progress import ProgressBar

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    info = subparsers.add_parser(
        "info",
        help="summarise a data file: customers, days, labels, missing and zero cells, notes",
        description="Read a data file and print what it holds and what the import noticed.",
    )
    info.add_argument("file", metavar="FILE", help="wide or long CSV/TSV, XLSX or Parquet file")
    info.add_argument("--json", action="store_true", help="print one JSON object instead")
    add_data_options(info)
    info.set_defaults(run=run_info)

    demo = subparsers.add_parser(
        "demo-data",
        help="write the synthetic demo data set as an SGCC-layout CSV",
        description="Write synthetic SGCC-like daily kWh (CONS_NO, FLAG, 2014/1/1 ... headers).",
    )
    demo.add_argument("out", metavar="OUT.csv", help="file to write")
    demo.add_argument("--customers", type=_at_least(1), default=2000, metavar="N")
    demo.add_argument("--days", type=_at_least(1), default=1035, metavar="D")
    demo.add_argument("--seed", type=_at_least(0), default=0, metavar="S")
    demo.set_defaults(run=run_demo_data)


def _at_least(lowest: int):
    """An argparse type: a whole number no smaller than ``lowest``."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be at least {lowest}, not {value}")
        return value

    return whole_number


def run_info(args: argparse.Namespace) -> int:
    data = read_data_from_args(args, args.file)
    summary = data.summary()
    if args.json:
        print(json.dumps(summary))
        return 0

    source = data.source
    print(f"file       {source.get('name')} ({source.get('format')}, {source.get('layout')})")
    print(f"customers  {summary['customers']:,}")
    print(f"days       {summary['days']:,} ({summary['first_day']} .. {summary['last_day']})")
    print(
        f"labels     theft {summary['theft']:,}, normal {summary['normal']:,}, "
        f"unknown {summary['unlabelled']:,}"
    )
    print(f"missing    {summary['missing_fraction']:.2%} of cells")
    print(f"zero       {summary['zero_fraction']:.2%} of cells")
    if summary["notes"]:
        print("notes")
        for note in summary["notes"]:
            print(f"  - {note}")
    else:
        print("notes      none")
    return 0


def run_demo_data(args: argparse.Namespace) -> int:
    from core.demo import make_demo  # the generator is only needed by this command
    from core.io import write_wide_csv

    with ProgressBar(enabled=not getattr(args, "quiet", False)) as state:
        data = make_demo(
            n_customers=args.customers, n_days=args.days, seed=args.seed, state=state.child(0, 0.5)
        )
        path = write_wide_csv(data, args.out, header_style="sgcc", state=state.child(0.5, 1.0))
    print(
        f"wrote {path}: {data.n_customers:,} customers x {data.n_days:,} days, "
        f"{data.theft_count:,} thieves",
        file=sys.stdout,
    )
    return 0
