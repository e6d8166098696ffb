"""`resnet-studio summary MODEL`: per-layer shapes, parameters, MACs, receptive fields and the
block graph; with `--memory`, what training it takes (and the largest batch for `--budget`)."""

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
    m = p.add_argument_group("training memory (traced on meta tensors: no weights, no compute)")
    m.add_argument("--memory", action="store_true",
                   help="add what one training step holds: weights, gradients, optimizer state "
                        "and the activations saved for backward, per layer and in total")
    m.add_argument("--batch-size", type=int, help="batch for --memory (default 64)")
    m.add_argument("--amp", action="store_true", help="bf16 autocast (float32 weights)")
    m.add_argument("--optimizer", choices=("sgd", "adamw"),
                   help="sgd (with momentum, the default) or adamw")
    m.add_argument("--budget", metavar="SIZE",
                   help="also the largest batch that fits in SIZE, e.g. 8GiB or 16GB")


def run(args) -> int:
    from resnet_studio.app.models import load_spec
    from resnet_studio.app.summary import (
        estimate_memory,
        inspect_model,
        row_label,
        summary_json,
        write_layers_csv,
    )
    from resnet_studio.core.common.budget import size_text

    if args.csv == "-" and args.json:
        raise ValueError("--csv - and --json both print to standard output; choose one")
    memory_flags = [f for f, v in (("--batch-size", args.batch_size is not None),
                                   ("--amp", args.amp), ("--optimizer", args.optimizer),
                                   ("--budget", args.budget)) if v]
    if memory_flags and not args.memory:
        raise ValueError(f"{', '.join(memory_flags)} go{'es' if len(memory_flags) == 1 else ''} "
                         "with --memory")
    with memory_checks(not args.no_memory_check):
        summary = inspect_model(load_spec(args.model, args.plain), args.input)
    report = None
    if args.memory:
        report = estimate_memory(summary, 64 if args.batch_size is None else args.batch_size,
                                 precision="bf16" if args.amp else "fp32",
                                 optimizer=args.optimizer or "sgd", budget=args.budget)
    spec = summary.spec
    if args.csv:
        write_layers_csv(summary, Path(args.csv), report)
        if args.csv == "-":
            return 0
    if args.json:
        print(summary_json(summary, report))
        return 0
    preact = ", pre-activation" if spec.preact else ""
    alpha = f" (α={spec.shortcut_scale:g})" if spec.shortcut_scale != 1.0 else ""
    print(f"{spec.name}  ({spec.depth} layers, {spec.block} blocks, shortcut {spec.shortcut}{alpha}"
          f"{preact})"
          f"  input {'x'.join(map(str, summary.input_shape))}")
    saved = [m.activations for m in report.memory.layers] if report else None
    print(f"{'layer':<28} {'type':<18} {'output':<14} {'params':>11} {'MACs':>15} {'RF':>5} "
          f"{'stride':>6}" + (f" {'saved':>9}" if saved else ""))
    for i, r in enumerate(summary.layers):
        print(f"{row_label(r):<28} {r.type:<18} {'x'.join(map(str, r.output_shape)):<14} "
              f"{r.params:>11,} {r.macs:>15,} {'all' if r.rf is None else r.rf:>5} "
              f"{'' if r.jump is None else r.jump:>6}"
              + (f" {size_text(saved[i]) if saved[i] else '–':>9}" if saved else ""))
    print(f"{'total':<28} {'':<18} {'x'.join(map(str, summary.output_shape)):<14} "
          f"{summary.total_params:>11,} {summary.total_macs:>15,}")
    print(f"{summary.total_params / 1e6:.3f} M parameters, {summary.total_macs / 1e9:.3f} GMACs "
          f"(= {2 * summary.total_macs / 1e9:.3f} GFLOPs counting a multiply-add as 2)")
    if report:
        print("\n".join(report.lines()))
    return 0
