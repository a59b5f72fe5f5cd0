"""`bench` console script: one subcommand per module in bench/commands/.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. A BenchError ends the command with its one-line message and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import bench.commands
from bench.core.errors import BenchError


def _command_modules():
    for info in sorted(pkgutil.iter_modules(bench.commands.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"bench.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="EV charger conformance bench")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _command_modules():
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except BenchError as exc:
        print(f"bench {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`bench decode … | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
