"""``etd clean``: filter, impute and treat outliers of a data file, and write the result.

The cleaned data set is written as Parquet in the wide layout the readers take back
(``CONS_NO``, ``FLAG``, one ISO-dated column per day), and what each step did is printed as
text. ``--recipe-out`` saves the settings as a recipe JSON for training runs.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from core.cli.common import add_data_options, read_data_from_args
from core.cli.progress import ProgressBar
from core.dataset import UNKNOWN, ConsumptionData

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "clean",
        help="drop customers with too many gaps, impute the rest, treat outliers",
        description=(
            "Clean a data file with the reference method or chosen settings and write the "
            "cleaned data set as Parquet (no scaling; that is fitted when training)."
        ),
    )
    parser.add_argument("file", metavar="DATA", help="wide or long CSV/TSV, XLSX or Parquet file")
    parser.add_argument("--out", required=True, metavar="CLEAN.parquet", help="file to write")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.03,
        metavar="SHARE",
        help="drop customers with more than this share of days missing (default 0.03)",
    )
    parser.add_argument(
        "--zeros-not-missing",
        action="store_true",
        help="count only empty days as missing (by default zero days count too)",
    )
    parser.add_argument(
        "--min-days", type=int, default=0, metavar="N", help="least days with readings to keep"
    )
    parser.add_argument("--impute", choices=("knn", "linear", "none"), default="knn")
    parser.add_argument("--k", type=int, default=5, metavar="K", help="KNN neighbours (default 5)")
    parser.add_argument("--outliers", choices=("iqr", "sigma"), default="iqr")
    parser.add_argument(
        "--factor", type=float, default=3.0, help="fence factor: IQRs or deviations (default 3)"
    )
    parser.add_argument("--treatment", choices=("keep", "cap", "missing", "drop"), default="cap")
    parser.add_argument("--recipe-out", metavar="recipe.json", help="save the settings as JSON")
    parser.add_argument("--report-out", metavar="report.json", help="save the full report")
    add_data_options(parser)
    parser.set_defaults(run=run_clean)


def run_clean(args: argparse.Namespace) -> int:
    from core.recipe import Recipe, clean

    recipe = Recipe(
        threshold=args.threshold,
        zeros_as_missing=not args.zeros_not_missing,
        min_days=args.min_days,
        imputation=args.impute,
        k=args.k,
        outlier_rule=args.outliers,
        outlier_factor=args.factor,
        outlier_treatment=args.treatment,
    )
    data = read_data_from_args(args, args.file)
    with ProgressBar(enabled=not getattr(args, "quiet", False)) as state:
        cleaned, report = clean(data, recipe, state=state)

    write_wide_parquet(cleaned, args.out)
    if args.recipe_out:
        Path(args.recipe_out).write_text(json.dumps(recipe.to_dict(), indent=2), "utf-8")
    if args.report_out:
        Path(args.report_out).write_text(json.dumps(report, indent=2), "utf-8")
    for line in report_lines(recipe, report):
        print(line)
    print(f"wrote {args.out}: {cleaned.n_customers:,} customers x {cleaned.n_days:,} days")
    return 0


def write_wide_parquet(data: ConsumptionData, path) -> Path:
    """``CONS_NO``, ``FLAG`` (empty when unknown), then one float32 column per ISO day."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    flags = np.where(data.labels == UNKNOWN, 0, data.labels).astype(np.int8)
    columns = {
        "CONS_NO": pa.array([str(c) for c in data.customer_ids], pa.string()),
        "FLAG": pa.array(flags, pa.int8(), mask=data.labels == UNKNOWN),
    }
    for j, day in enumerate(data.days):
        readings = data.kwh[:, j]
        columns[day.date().isoformat()] = pa.array(readings, pa.float32(), mask=np.isnan(readings))
    pq.write_table(pa.table(columns), path)
    log.info("wrote %s: %d customers x %d days", path, data.n_customers, data.n_days)
    return path


def report_lines(recipe, report: dict) -> list[str]:
    """The cleaning report as lines of text for the terminal."""
    lines = ["recipe"] + [f"  {line}" for line in recipe.describe()]

    filt = report["filter"]
    lines.append(f"missing-data filter: kept {filt['kept']:,} of {filt['customers_in']:,}")
    for name, counts in filt["per_class"].items():
        lines.append(f"  {name:<10} kept {counts['kept']:>7,}   dropped {counts['dropped']:>7,}")
    if filt["no_readings"]:
        lines.append(f"  {filt['no_readings']:,} customers have no readings at all")
    for customer, reason in list(filt["dropped_customers"].items())[:5]:
        lines.append(f"  dropped {customer}: {reason}")
    if filt["dropped"] > 5:
        lines.append(f"  ... and {filt['dropped'] - 5:,} more (see --report-out)")

    imp = report["imputation"]
    lines.append(
        f"imputation ({imp['method']}): {imp['filled_cells']:,} of {imp['missing_cells']:,} "
        f"empty readings filled in {imp['seconds']:.1f} s"
    )
    if imp["empty_days"]:
        shown = ", ".join(imp["empty_days"][:5])
        lines.append(
            f"  {len(imp['empty_days'])} days without any reading kept in place and filled "
            f"along time: {shown}{' ...' if len(imp['empty_days']) > 5 else ''}"
        )
    if imp["left_missing"]:
        lines.append(f"  {imp['left_missing']:,} readings left empty")

    out = report["outliers"]
    lines.append(
        f"outliers ({out['rule']}, factor {out['factor']:g}, {out['treatment']}): "
        f"{out['flagged_cells']:,} readings of {out['flagged_customers']:,} customers"
    )
    if "minor_cells" in out:
        lines.append(
            f"  beyond 1.5 IQR: {out['minor_cells']:,} readings; beyond 3 IQR: "
            f"{out['extreme_cells']:,}"
        )
    if out["customers_dropped"]:
        lines.append(f"  {out['customers_dropped']:,} customers dropped")
    lines.append(f"result: {report['customers_out']:,} customers in {report['seconds']:.1f} s")
    return lines
