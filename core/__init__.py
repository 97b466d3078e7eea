"""Engine of the electricity-theft detection workbench.

Nothing under ``core`` imports Qt: the desktop application, the command line and tests all drive
the same functions. Long steps take a :class:`core.tasks.TaskState` to report progress and to be
asked whether the user pressed Stop.
"""

from importlib import metadata

try:
    __version__ = metadata.version("etd-workbench")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
