"""Options shared by every command that reads a data file."""

from __future__ import annotations

import argparse

from core.cli.progress import ProgressBar


def add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading the data file")
    group.add_argument("--id-column", metavar="NAME", help="column holding customer ids")
    group.add_argument("--label-column", metavar="NAME", help="column holding 0/1 labels")
    group.add_argument(
        "--labels", metavar="LABELS.csv", help="second file of (customer, label) rows"
    )
    group.add_argument("--sheet", metavar="NAME", help="worksheet to read from an XLSX file")


def read_data_from_args(args: argparse.Namespace, path: str):
    """Read ``path`` with the shared options, showing a progress bar."""
    from core.io import read_dataset

    with ProgressBar(enabled=not getattr(args, "quiet", False)) as state:
        return read_dataset(
            path,
            id_column=args.id_column,
            label_column=args.label_column,
            labels_path=args.labels,
            sheet=args.sheet,
            state=state,
        )
