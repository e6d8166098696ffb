"""`resnet-studio summary MODEL`: per-layer shapes, parameters, MACs and the block graph."""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="per-layer table and block graph of a model (no compute)")
    p.add_argument("model", help="a preset name (see `models`) or a spec .json file")
    p.add_argument("--input", help="input size C,H,W (default: the model's own, e.g. 3,224,224)")
    p.add_argument("--plain", action="store_true", help="the plain twin (shortcuts removed)")
    p.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    p.add_argument("--csv", metavar="FILE", help="also write the layer table as CSV")


def run(args) -> int:
    from resnet_studio.app.models import load_spec, parse_input_shape
    from resnet_studio.core.inspect import summarize
    from resnet_studio.core.summary import summary_to_csv
    from resnet_studio.core.zoo import with_io

    spec = load_spec(args.model, args.plain)
    shape = parse_input_shape(args.input) if args.input else None
    if shape and len(shape) == 3 and shape[0] != spec.in_channels:
        spec = with_io(spec, in_channels=shape[0])  # e.g. 1-channel MNIST into any preset
    summary = summarize(spec, shape)
    if args.csv:
        from resnet_studio.core.common.files import write_text_atomic

        write_text_atomic(Path(args.csv), summary_to_csv(summary))
    if args.json:
        print(json.dumps(summary.to_dict(), indent=1))
        return 0
    preact = ", pre-activation" if spec.preact else ""
    print(f"{spec.name}  ({spec.depth} layers, {spec.block} blocks, shortcut {spec.shortcut}{preact})"
          f"  input {'x'.join(map(str, summary.input_shape))}")
    print(f"{'layer':<28} {'type':<18} {'output':<14} {'params':>11} {'MACs':>15}")
    for r in summary.layers:
        name = r.name if r.call == 1 else f"{r.name} ({r.call})"
        print(f"{name:<28} {r.type:<18} {'x'.join(map(str, r.output_shape)):<14} "
              f"{r.params:>11,} {r.macs:>15,}")
    print(f"{'total':<28} {'':<18} {'x'.join(map(str, summary.output_shape)):<14} "
          f"{summary.total_params:>11,} {summary.total_macs:>15,}")
    print(f"{summary.total_params / 1e6:.3f} M parameters, {summary.total_macs / 1e9:.3f} GMACs "
          f"(= {2 * summary.total_macs / 1e9:.3f} GFLOPs counting a multiply-add as 2)")
    return 0
