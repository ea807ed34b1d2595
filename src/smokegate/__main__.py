"""``python -m smokegate``: the ``smokegate`` command (report, watch)."""

import sys

from smokegate.cli import main

if __name__ == "__main__":
    sys.exit(main())
