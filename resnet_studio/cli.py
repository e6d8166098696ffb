"""`resnet-studio`: no arguments opens the window; subcommands run headless.

Each subcommand lives in resnet_studio/commands/<name>.py with `add_parser(subparsers)` and
`run(args) -> int`. `gui` is the window's own entry, here: commands never import Qt, and Qt is
imported only on this path.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from resnet_studio import __version__
from resnet_studio.app.errors import describe_error, describe_failure, is_expected

COMMANDS = ("models", "summary", "compare", "train", "runs", "sweep", "classify", "features",
            "gradients", "lesion", "landscape", "attribute", "export", "install-desktop")


def build_parser(commands: tuple[str, ...] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resnet-studio",
        description="See why residual networks work. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"resnet-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_gui_parser(sub)
    for name in commands:
        _command_module(name).add_parser(sub)
    return parser


def _command_module(name: str):
    """commands/<name>.py; a dash in a command's name is an underscore in its module's."""
    return importlib.import_module(f"resnet_studio.commands.{name.replace('-', '_')}")


def _add_gui_parser(sub) -> None:
    p = sub.add_parser("gui", help="open the window (the default)")
    p.add_argument("--model", help="preset to show first (default: the last one used)")
    p.add_argument("--tab", help="tab to open first, e.g. architecture (with --screenshot: "
                                 "'all' shoots every tab)")
    p.add_argument("--compare", metavar="MODEL",
                   help="open the model beside MODEL (a preset, a spec file, or plain)")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window once the model is loaded, save it, and exit "
                        "({tab} and {size} in the name: one file per tab and size)")
    p.add_argument("--theme", choices=("system", "light", "dark"),
                   help="colours (remembered; default: as chosen in View > Colours, else the "
                        "system's)")
    p.add_argument("--size", default="1400x860",
                   help="window size for --screenshot (WxH; several: 1280x720,1920x1080)")


def _run_gui(args) -> int:
    from resnet_studio.app.platform_libs import check_platform_libraries

    # before Qt: its own abort names only the first missing library
    missing = check_platform_libraries()
    if missing:
        print(f"resnet-studio: {missing}", file=sys.stderr)
        return 2
    from resnet_studio.qt.app import run_app

    return run_app(args)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code: 0 done, 1 a bug (its traceback in a crash log)
    or a failed run, 2 a user error, 128 + the signal number when stopped by Ctrl+C or
    SIGTERM. No failure prints a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv) or ["gui"]
    # The window's path reads no other command's flags: it starts before anything else loads.
    parser = build_parser(() if argv[0] == "gui" else COMMANDS)
    args = parser.parse_args(argv)
    try:
        if args.command == "gui":
            return _run_gui(args)
        module = _command_module(args.command)
        return int(module.run(args) or 0)
    except BrokenPipeError:  # `resnet-studio models | head`
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the boundary: a sentence, never a traceback
        if is_expected(e):
            # Expected failures (unknown model, bad spec, unreadable file): one clear line.
            print(f"resnet-studio {args.command}: error: {_one_line(describe_error(e))}",
                  file=sys.stderr)
            return 2
        print(f"resnet-studio {args.command}: {_one_line(describe_failure(e))}",
              file=sys.stderr)
        return 1


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())

