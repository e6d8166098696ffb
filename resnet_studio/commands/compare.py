"""`resnet-studio compare A [B]`: two models stage by stage and block by block (no compute)."""

from __future__ import annotations

from resnet_studio.core.common.budget import memory_checks


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="two models side by side: shortcuts, widths, groups and "
                                       "per-stage params / MACs / memory with the deltas")
    p.add_argument("model", help="model A: a preset name (see `models`) or a spec .json file")
    p.add_argument("other", nargs="?", default="plain",
                   help="model B: a preset, a spec .json file, or `plain` for A's plain twin "
                        "(the default)")
    p.add_argument("--input", help="compare both at this input C,H,W (default: each model at "
                                   "its own, e.g. 3,224,224 and 3,32,32)")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="the whole comparison as JSON: printed, or written to FILE")
    p.add_argument("--csv", metavar="FILE",
                   help="also write the per-stage table as CSV (- : print only the CSV)")
    p.add_argument("--no-memory-check", action="store_true",
                   help="compare specs too large for the inspector's default limit")


def run(args) -> int:
    from resnet_studio.app.compare import (
        compare_models,
        comparison_text,
        resolve_pair,
        write_comparison_csv,
        write_comparison_json,
    )
    from resnet_studio.commands._common import output_name

    if args.csv == "-" and args.json == "-":
        raise ValueError("--csv - and --json both print to standard output; choose one")
    with memory_checks(not args.no_memory_check):
        comparison = compare_models(*resolve_pair(args.model, args.other), args.input)
    for path, write in ((args.csv, write_comparison_csv), (args.json, write_comparison_json)):
        if path:
            write(comparison, path)
    if "-" in (args.csv, args.json):
        return 0
    print(comparison_text(comparison))
    for path in (args.csv, args.json):
        if path:
            print(f"wrote {output_name(path)}")
    return 0
