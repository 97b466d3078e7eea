"""``python -m etd_desktop``: the same as the ``etd-desktop`` command."""

import sys

from etd_desktop.app import main

sys.exit(main())
