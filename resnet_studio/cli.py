"""`resnet-studio`: no arguments opens the window; subcommands run headless.

Each subcommand lives in resnet_studio/commands/<name>.py with `add_parser(subparsers)` and
`run(args) -> int`. Qt is imported only on the `gui` path.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from resnet_studio import __version__

COMMANDS = ("gui", "models", "summary", "train", "runs", "sweep", "classify", "features",
            "gradients", "lesion", "attribute")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resnet-studio",
        description="See why residual networks work. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"resnet-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"resnet_studio.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv or ["gui"])
    module = importlib.import_module(f"resnet_studio.commands.{args.command}")
    try:
        return int(module.run(args) or 0)
    except BrokenPipeError:  # `resnet-studio models | head`
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, OSError) as e:
        # Expected user errors (unknown model, bad spec, unreadable file): one clear line.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"resnet-studio {args.command}: error: {msg}", file=sys.stderr)
        return 2
