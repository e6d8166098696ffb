"""`resnet-studio gradients MODEL`: gradient norms and responses through depth at initialisation."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gradients",
        help="gradient norms and branch responses through depth (one forward + backward)",
        description="One forward + backward pass at initialisation (BatchNorm in train mode) on a "
                    "random batch: the gradient at every block's input, the std of every "
                    "residual branch's response, the first-to-last-conv gradient ratio and a "
                    "verdict (healthy / growing / exploding / shrinking / vanishing).")
    p.add_argument("model", help="a preset name (see `models`) or a spec .json file")
    p.add_argument("--compare-plain", action="store_true",
                   help="also measure the plain twin (same weights, same batch)")
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="images in the random batch (default 128; 16 for ImageNet-size models)")
    p.add_argument("--input", help="input size C,H,W (default: the model's own, e.g. 3,32,32)")
    p.add_argument("--no-bn", action="store_true",
                   help="remove every BatchNorm (the no-BN regime)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batch")
    p.add_argument("--convs", action="store_true", help="also list every conv's weight gradient")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")


def _e(x: float) -> str:
    return f"{x:.3e}" if x == x else "nan"


def run(args) -> int:
    from resnet_studio.app.models import load_spec, parse_input_shape
    from resnet_studio.core.analysis.gradients import analyze_gradients, format_factor, without_bn
    from resnet_studio.core.zoo import with_io

    spec = load_spec(args.model)
    shape = parse_input_shape(args.input) if args.input else None
    if shape and len(shape) == 3 and shape[0] != spec.in_channels:
        spec = with_io(spec, in_channels=shape[0])
    if args.no_bn:
        spec = without_bn(spec)
    batch = args.batch if args.batch is not None else (128 if spec.stem == "cifar" else 16)
    if batch < 1:
        raise ValueError("--batch must be at least 1")
    report = analyze_gradients(spec, compare_plain=args.compare_plain, seed=args.seed,
                               batch_size=batch, input_shape=shape)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 0

    net, plain = report.net, report.plain
    title = net.label + (f" vs {plain.label}" if plain else "")
    print(f"{title}: one forward + backward at initialisation, BatchNorm "
          f"{'in train mode (batch statistics)' if spec.norm == 'batch' else 'removed'}")
    print(f"batch: {report.batch_source}; loss {net.loss:.4g}"
          + (f" (plain {plain.loss:.4g}); plain twin has the same weights "
             f"({len(report.shared_weights)} tensors shared)" if plain else ""))
    print()
    head = f"{'block':<12} {'depth':>5} {'shortcut':<10} {'|dL/dx|':>11} {'resp. std':>10}"
    if plain:
        head += f" {'plain |dL/dx|':>13} {'plain/res':>10} {'plain std':>10}"
    print(head)
    plain_blocks = {b.id: b for b in plain.blocks} if plain else {}
    for b in net.blocks:
        row = (f"{b.id:<12} {b.depth:>5} {b.shortcut:<10} {_e(b.input_grad_norm):>11} "
               f"{b.response_std:>10.4g}")
        if plain and b.id in plain_blocks:
            q = plain_blocks[b.id]
            ratio = q.input_grad_norm / b.input_grad_norm if b.input_grad_norm else float("inf")
            row += f" {_e(q.input_grad_norm):>13} {format_factor(ratio):>10} {q.response_std:>10.4g}"
        print(row)
    if args.convs:
        print()
        print(f"{'conv':<26} {'depth':>5} {'|dL/dW|':>11}" + (f" {'plain |dL/dW|':>13}" if plain else ""))
        plain_convs = {c.name: c for c in plain.convs} if plain else {}
        for c in net.convs:
            name = c.name + (" (shortcut)" if c.shortcut else "")
            row = f"{name:<26} {c.depth:>5} {_e(c.weight_grad_norm):>11}"
            if c.name in plain_convs:
                row += f" {_e(plain_convs[c.name].weight_grad_norm):>13}"
            print(row)
    print()
    ratios = f"{net.label} {format_factor(net.first_to_last)}"
    if plain:
        ratios += f", {plain.label} {format_factor(plain.first_to_last)}"
    print(f"first conv ÷ last conv weight-gradient norm: {ratios}")
    for line in report.verdicts:
        print(f"  {line}")
    for n in [net, plain] if plain else [net]:
        print(f"  {n.label}: {n.detail}")
    if spec.norm == "batch" and not spec.preact:
        print("  (with BatchNorm in batch-statistics mode every branch response after its BN has "
              "std ≈ 1 at initialisation; try --no-bn, or trained weights, for He et al.'s Fig. 7)")
    return 0
