"""`resnet-studio summary MODEL`: per-layer shapes, parameters, MACs and the block graph."""

from __future__ import annotations

from pathlib import Path

from resnet_studio.core.common.budget import memory_checks


def add_parser(sub) -> None:
    from resnet_studio.core.inspect import MAX_BLOCKS  # no torch: the parser stays light

    p = sub.add_parser("summary", help="per-layer table and block graph of a model (no compute)")
    p.add_argument("model", help="a preset name (see `models`) or a spec .json file")
    p.add_argument("--input", help="input size C,H,W (default: the model's own, e.g. 3,224,224)")
    p.add_argument("--plain", action="store_true", help="the plain twin (shortcuts removed)")
    p.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    p.add_argument("--csv", metavar="FILE",
                   help="also write the layer table as CSV (- : print only the CSV)")
    p.add_argument("--no-memory-check", action="store_true",
                   help=f"inspect specs of more than {MAX_BLOCKS:,} blocks too (slow, large)")


def run(args) -> int:
    from resnet_studio.app.models import load_spec
    from resnet_studio.app.summary import inspect_model, row_label, summary_json, write_layers_csv

    if args.csv == "-" and args.json:
        raise ValueError("--csv - and --json both print to standard output; choose one")
    with memory_checks(not args.no_memory_check):
        summary = inspect_model(load_spec(args.model, args.plain), args.input)
    spec = summary.spec
    if args.csv:
        write_layers_csv(summary, Path(args.csv))
        if args.csv == "-":
            return 0
    if args.json:
        print(summary_json(summary))
        return 0
    preact = ", pre-activation" if spec.preact else ""
    print(f"{spec.name}  ({spec.depth} layers, {spec.block} blocks, shortcut {spec.shortcut}{preact})"
          f"  input {'x'.join(map(str, summary.input_shape))}")
    print(f"{'layer':<28} {'type':<18} {'output':<14} {'params':>11} {'MACs':>15}")
    for r in summary.layers:
        print(f"{row_label(r):<28} {r.type:<18} {'x'.join(map(str, r.output_shape)):<14} "
              f"{r.params:>11,} {r.macs:>15,}")
    print(f"{'total':<28} {'':<18} {'x'.join(map(str, summary.output_shape)):<14} "
          f"{summary.total_params:>11,} {summary.total_macs:>15,}")
    print(f"{summary.total_params / 1e6:.3f} M parameters, {summary.total_macs / 1e9:.3f} GMACs "
          f"(= {2 * summary.total_macs / 1e9:.3f} GFLOPs counting a multiply-add as 2)")
    return 0
