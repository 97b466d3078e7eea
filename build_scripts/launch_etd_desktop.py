"""Entry point of the packaged etd-desktop (PyInstaller runs this file, not ``etd_desktop``).

``multiprocessing.freeze_support()`` comes first: should anything start a child process (joblib
and scikit-learn may), the frozen executable is started again as that child and must run the
child's work instead of a second window. Children are spawned, never forked: forking after
TensorFlow has loaded hangs.
"""

import contextlib
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    with contextlib.suppress(RuntimeError):  # already set by whoever started us
        multiprocessing.set_start_method("spawn")

    from etd_desktop.app import main

    sys.exit(main())
