import sys

from etd_desktop.app import main

sys.exit(main())
