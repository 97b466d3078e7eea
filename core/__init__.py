"""Engine of the electricity-theft detection workbench.

Nothing under ``core`` imports Qt: the desktop application, the command line and tests all drive
the same functions. Long steps take a :class:`core.tasks.TaskState` to report progress and to be
asked whether the user pressed Stop.
"""

import os
from importlib import metadata

# TensorFlow's C++ start-up lines (oneDNN notices, CUDA probing) would otherwise fill stderr of
# every command that trains or scores; a user who wants them sets the variable themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    __version__ = metadata.version("etd-workbench")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
