"""The ``etd`` command line: the engine's steps, headless, with a progress bar.

Each group of commands lives in its own module with a ``register(subparsers)`` function. Errors
the user can fix (:class:`core.errors.EtdError`) print one message on stderr and exit 2; a
traceback appears only with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from core import __version__
from core.errors import EtdError
from core.logs import configure_logging
from core.tasks import Cancelled

log = logging.getLogger(__name__)

# Modules that add sub-commands; each has register(subparsers). Kept as names so that a missing
# optional group never breaks the others.
COMMAND_MODULES = (
    "core.cli.data_commands",
    "core.cli.clean_commands",
    "core.cli.model_commands",
    "core.cli.project_commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etd",
        description="Electricity-theft detection workbench: import, clean, train, score.",
    )
    parser.add_argument("--version", action="version", version=f"etd {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(logging.DEBUG if args.debug else logging.INFO)
    log.info("etd %s: %s", __version__, " ".join(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.run(args) or 0)
    except EtdError as err:
        if args.debug:
            raise
        print(f"etd: error: {err}", file=sys.stderr)
        log.warning("command failed: %s", err)
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("etd: stopped", file=sys.stderr)
        return 130
    except Exception as err:  # an engine bug: keep the message short, the trace in the log
        log.exception("unexpected error")
        if args.debug:
            raise
        print(
            f"etd: internal error: {type(err).__name__}: {err} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
