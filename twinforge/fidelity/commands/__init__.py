"""The fidelity commands: ``twinforge fidelity`` (and its ``--protocol``) and ``twinforge calibrate``.

One module per command (:mod:`.fidelity_cmd`, :mod:`.protocol_cmd`, :mod:`.calibrate_cmd`)
and what they share (:mod:`.common`). ``cli.py`` registers them with :func:`add_parsers` and
dispatches to the handler they carry in ``args.fidelity_handler``. Exit codes as in
``cli.py``: 0 success, 2 bad input (one line naming the problem; nothing written), 1 a
failure while running. Nothing here imports ``twinforge.cli``.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

__all__ = ["add_parsers", "run", "main"]


def add_parsers(subparsers: Any) -> None:
    """Register ``fidelity`` and ``calibrate`` on the CLI's subparsers object."""
    from twinforge.fidelity.commands import calibrate_cmd, fidelity_cmd

    fidelity_cmd.add_parser(subparsers)
    calibrate_cmd.add_parser(subparsers)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the handler :func:`add_parsers` attached."""
    return int(args.fidelity_handler(args))


class _Parser(argparse.ArgumentParser):
    """argparse with bad arguments reported on one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """The commands on their own (``python -m twinforge.fidelity.commands fidelity|calibrate ...``)."""
    parser = _Parser(prog="twinforge")
    add_parsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return run(parser.parse_args(argv))
