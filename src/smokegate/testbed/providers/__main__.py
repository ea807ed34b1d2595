"""``python -m smokegate.testbed.providers``: the environment a run needs to reach a running testbed's
provider stand-ins (their tokens and URLs), as ``export`` lines for a shell::

    make testbed                                        # in one terminal
    eval "$(python -m smokegate.testbed.providers)"     # in another
    pytest tests/providers --target local
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from smokegate.testbed.instance import running_info
from smokegate.testbed.providers import environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smokegate.testbed.providers", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".smokegate/testbed"),
                        help="the running testbed's state directory (default .smokegate/testbed)")
    args = parser.parse_args(argv)
    info = running_info(args.state_dir)
    if info is None or not isinstance(info.get("providers"), dict):
        print(f"no testbed is running on {args.state_dir} (make testbed)", file=sys.stderr)
        return 1
    for name, value in environment(info["providers"]).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
