"""``python -m twinforge.fidelity.commands fidelity|calibrate ...``: the commands on their own.

The same handlers ``twinforge`` dispatches to, behind an argument parser of their own (this
module imports nothing from ``twinforge.cli``).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from twinforge.fidelity.commands import add_parsers, run


class _Parser(argparse.ArgumentParser):
    """argparse with bad arguments reported on one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="twinforge")
    add_parsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
