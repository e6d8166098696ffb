"""`resnet-studio gui` (the default): the desktop window."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("gui", help="open the window (the default)")
    p.add_argument("--model", help="preset to show first (default: the last one used)")
    p.add_argument("--tab", help="tab to open first, e.g. architecture")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window once the model is loaded, save it, and exit")
    p.add_argument("--size", default="1400x860", help="window size for --screenshot (WxH)")


def run(args) -> int:
    from resnet_studio.qt.app import run_app

    return run_app(args)
