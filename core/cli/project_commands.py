"""``etd project ...``: look into a project file and take lists out of it.

- ``etd project info FILE.etdproj [--json]``: schema version, data sets, cleaned versions, runs
  with their models and key metrics, scores and inspections.
- ``etd project export-list FILE --run N --model NAME --out list.csv [--top K]``: the ranked
  visit list with current inspection outcomes.
- ``etd project record FILE --customer ID --outcome OUTCOME [--date D] [--note TEXT]``: what an
  inspection found.
- ``etd project new FILE`` and ``etd project add-data FILE DATA``: start a project and put a data
  file into it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math

from core.cli.common import add_data_options, read_data_from_args

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "project",
        help="inspect and use a project file (.etdproj)",
        description=(
            "Look into a project file (data sets, cleanings, runs and their metrics, scores, "
            "inspections), take the ranked visit list out of it, record what an inspection "
            "found, or start a project from a data file."
        ),
    )
    sub = parser.add_subparsers(dest="project_command", metavar="ACTION")
    sub.required = True

    info = sub.add_parser("info", help="what a project file holds")
    info.add_argument("file", metavar="FILE.etdproj")
    info.add_argument("--json", action="store_true", help="print the figures as JSON")
    info.set_defaults(run=run_info)

    export = sub.add_parser("export-list", help="ranked visit list of one model's scores (CSV)")
    export.add_argument("file", metavar="FILE.etdproj")
    export.add_argument("--run", dest="run_id", type=int, required=True, metavar="N", help="run id")
    export.add_argument("--model", required=True, metavar="NAME", help="model name, e.g. gbm")
    export.add_argument("--out", required=True, metavar="LIST.csv", help="CSV file to write")
    export.add_argument("--top", type=int, metavar="K", help="only the K highest-ranked")
    export.set_defaults(run=run_export_list)

    from core.project import OUTCOMES

    record = sub.add_parser("record", help="record what an inspection found")
    record.add_argument("file", metavar="FILE.etdproj")
    record.add_argument("--customer", required=True, metavar="ID")
    record.add_argument("--outcome", required=True, choices=OUTCOMES)
    record.add_argument("--date", metavar="YYYY-MM-DD", help="day of the visit (default today)")
    record.add_argument("--note", default="", metavar="TEXT")
    record.set_defaults(run=run_record)

    new = sub.add_parser("new", help="create an empty project file")
    new.add_argument("file", metavar="FILE.etdproj")
    new.add_argument("--overwrite", action="store_true", help="replace an existing file")
    new.set_defaults(run=run_new)

    add = sub.add_parser("add-data", help="read a data file and store it in the project")
    add.add_argument("file", metavar="FILE.etdproj")
    add.add_argument("data", metavar="DATA", help="CSV, TSV, XLSX or Parquet file")
    add.add_argument("--name", help="name shown for the data set (default: the file name)")
    add_data_options(add)
    add.set_defaults(run=run_add_data)


def project_summary(project) -> dict:
    """The figures ``info`` prints, as plain JSON-able values."""
    meta = project.meta()
    runs = project.list_runs()
    inspections = project.inspections()
    return {
        "file": str(project.path),
        "schema_version": project.schema_version,
        "app_version": meta.get("app_version"),
        "created": meta.get("created"),
        "upgraded": meta.get("upgraded"),
        "datasets": project.list_datasets(),
        "cleaned": project.list_cleaned(),
        "runs": runs,
        "inspections": {
            "customers": int(len(inspections)),
            "by_outcome": {k: int(v) for k, v in inspections["outcome"].value_counts().items()},
            "records": int(len(project.inspection_history())),
        },
    }


def _figure(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def run_info(args: argparse.Namespace) -> int:
    from core.project import Project

    with Project.open(args.file, read_only=True) as project:
        summary = project_summary(project)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0

    print(f"{summary['file']}")
    print(
        f"  schema version {summary['schema_version']}, made by etd {summary['app_version']} "
        f"on {summary['created']}"
    )
    if summary["upgraded"]:
        print(f"  upgraded {summary['upgraded']}")

    print(f"data sets: {len(summary['datasets'])}")
    for d in summary["datasets"]:
        print(
            f"  [{d['id']}] {d['name']}: {d['customers']:,} customers x {d['days']:,} days "
            f"({d['first_day']}..{d['last_day']}), theft {d['theft']:,}, normal {d['normal']:,}"
            f", unlabelled {d['unlabelled']:,}; {_megabytes(d['bytes'])}"
        )
        if d["sha256"]:
            print(f"       source {d['source_name']} sha256 {d['sha256'][:16]}...")
    print(f"cleaned versions: {len(summary['cleaned'])}")
    for c in summary["cleaned"]:
        print(
            f"  [{c['id']}] {c['name']} (from data set {c['dataset_id']}): "
            f"{c['customers']:,} customers x {c['days']:,} days; {_megabytes(c['bytes'])}"
        )

    print(f"runs: {len(summary['runs'])}")
    for r in summary["runs"]:
        state = "stopped" if r["stopped"] else ("finished" if r["finished"] else "interrupted")
        print(
            f"  [{r['id']}] {r['started']} protocol {r['protocol'] or '-'}, data set "
            f"{r['dataset_id']}, device {r['device'] or '-'}: {state}"
        )
        for model, result in r["results"].items():
            metrics = result["metrics"]
            print(
                f"       {model:<10} ROC-AUC {_figure(metrics.get('roc_auc'))}  "
                f"PR-AUC {_figure(metrics.get('pr_auc'))}  "
                f"threshold {_figure(result['threshold'])}  scores {result['scores']:,}"
                + ("  (stopped early)" if result["stopped"] else "")
            )
    inspections = summary["inspections"]
    by_outcome = ", ".join(f"{k} {v}" for k, v in sorted(inspections["by_outcome"].items()))
    print(
        f"inspections: {inspections['customers']} customers ({inspections['records']} records)"
        + (f": {by_outcome}" if by_outcome else "")
    )
    return 0


def run_export_list(args: argparse.Namespace) -> int:
    from core.project import Project

    with Project.open(args.file, read_only=True) as project:
        count = project.export_inspection_list(args.out, args.run_id, args.model, top=args.top)
    print(f"wrote {count} customers to {args.out}")
    return 0


def run_record(args: argparse.Namespace) -> int:
    from core.project import Project

    with Project.open(args.file) as project:
        project.record_inspection(args.customer, args.outcome, args.date, args.note)
    print(f"recorded {args.outcome} for {args.customer}")
    return 0


def run_new(args: argparse.Namespace) -> int:
    from core.project import Project

    Project.create(args.file, overwrite=args.overwrite).close()
    print(f"created {args.file}")
    return 0


def run_add_data(args: argparse.Namespace) -> int:
    from core.project import Project

    data = read_data_from_args(args, args.data)
    with Project.open(args.file) as project:
        dataset_id = project.add_dataset(data, name=args.name)
    print(f"stored {data!r} as data set {dataset_id}")
    return 0
