"""`resnet-studio gradients MODEL`: gradient norms and responses through depth at initialisation;
`resnet-studio gradients --run RUN`: the per-block gradient norms a training run recorded."""

from __future__ import annotations

HELP = "gradient norms and branch responses through depth (one forward + backward)"
DESCRIPTION = ("One forward + backward pass at initialisation (BatchNorm in train mode) on a "
               "random batch: the gradient at every block's input, the std of every residual "
               "branch's response, the first-to-last-conv gradient ratio and a verdict (healthy "
               "/ growing / exploding / shrinking / vanishing). With --run: the per-block "
               "gradient norms a training run recorded instead.")


def add_parser(sub) -> None:
    p = sub.add_parser("gradients", help=HELP, description=DESCRIPTION)
    p.add_argument("model", nargs="?",
                   help="a preset name (see `models`) or a spec .json file (not with --run)")
    p.add_argument("--compare-plain", action="store_true",
                   help="also measure the plain twin (same weights, same batch)")
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="images in the random batch (default 128; 16 for ImageNet-size models)")
    p.add_argument("--input", help="input size C,H,W (default: the model's own, e.g. 3,32,32)")
    p.add_argument("--no-bn", action="store_true",
                   help="remove every BatchNorm (the no-BN regime)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batch")
    p.add_argument("--convs", action="store_true", help="also list every conv's weight gradient")
    p.add_argument("--alpha", metavar="A,B,...",
                   help="shortcut strengths α to measure, y = F(x) + α·shortcut(x), each in 0 "
                        "(plain) … 1 (residual), e.g. 0,0.25,0.5,1: one profile per α, the same "
                        "weights and batch")
    p.add_argument("--run", action="append", metavar="RUN",
                   help="instead: the per-block gradient norms a run recorded while training "
                        "(id, unique prefix or 'last'; give it twice for two runs)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--csv", action="store_true",
                   help="print the numbers as CSV (as the Gradients tab's export)")


def _e(x: float) -> str:
    return f"{x:.3e}" if x == x else "nan"


def request_from(args):
    """The InitRequest the flags describe."""
    from resnet_studio.app.gradients import InitRequest
    from resnet_studio.app.models import load_spec
    from resnet_studio.app.summary import parse_input

    if not args.model:
        raise ValueError("name a model, or give --run")
    return InitRequest(spec=load_spec(args.model), batch_norm=not args.no_bn,
                       batch_size=args.batch, seed=args.seed, compare_plain=args.compare_plain,
                       input_shape=parse_input(args.input))


def _print_runs(args) -> int:
    from resnet_studio.app.gradients import load_gradient_runs, runs_csv, runs_json

    runs = load_gradient_runs(None, args.run)
    if args.json or args.csv:
        print(runs_json(runs) if args.json else runs_csv(runs).rstrip("\n"))
        return 0
    for r in runs:
        h = r.history
        if not len(h):
            print(f"{r.record.name} ({r.record.id}): no gradient norms recorded (trained "
                  "without gradient logging)")
            continue
        print(f"{r.record.name} ({r.record.id}, {r.record.status}): {len(h.block_names)} blocks "
              f"x {len(h):,} records, steps {int(h.steps[0]):,}-{int(h.steps[-1]):,}")
        print(f"{'block':<12} {'first':>11} {'last':>11}")
        for j, name in enumerate(h.block_names):
            print(f"{name:<12} {_e(float(h.blocks[0, j])):>11} {_e(float(h.blocks[-1, j])):>11}")
    return 0


def run(args) -> int:
    from resnet_studio.app.gradients import measure_at_init, report_csv, report_json, report_title
    from resnet_studio.core.analysis.gradients import format_factor

    if args.run:
        return _print_runs(args)
    if args.alpha is not None:
        return _print_alphas(args)
    report = measure_at_init(request_from(args)).report
    if args.json or args.csv:
        print(report_json(report) if args.json else report_csv(report).rstrip("\n"))
        return 0

    net, plain = report.net, report.plain
    print(f"{report_title(report)}: one forward + backward at initialisation, BatchNorm "
          f"{'in train mode (batch statistics)' if net.norm == 'batch' else 'removed'}")
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
    if net.norm == "batch" and not net.preact:
        print("  (with BatchNorm in batch-statistics mode every branch response after its BN has "
              "std ≈ 1 at initialisation; try --no-bn, or trained weights, for He et al.'s Fig. 7)")
    return 0


def _print_alphas(args) -> int:
    from resnet_studio.app.shortcut_strength import (
        alphas_csv,
        alphas_json,
        measure_alphas,
        parse_alphas,
    )
    from resnet_studio.core.analysis.gradients import format_factor

    sweep = measure_alphas(request_from(args), parse_alphas(args.alpha))
    if args.json or args.csv:
        print(alphas_json(sweep) if args.json else alphas_csv(sweep).rstrip("\n"))
        return 0
    nets = [p.net for p in sweep.profiles]
    bn = "BatchNorm in train mode" if sweep.spec.norm == "batch" else "BatchNorm removed"
    print(f"{sweep.spec.name}: y = F(x) + α·shortcut(x), one forward + backward at "
          f"initialisation per α ({bn}), the same weights and batch")
    print(f"batch: {sweep.batch_source}")
    print()
    cols = "".join(f" {'α=' + format(p.alpha, 'g'):>11}" for p in sweep.profiles)
    print(f"|dL/dx| at each block input\n{'block':<12} {'depth':>5}{cols}")
    for i, b in enumerate(nets[0].blocks):
        print(f"{b.id:<12} {b.depth:>5}" + "".join(f" {_e(n.blocks[i].input_grad_norm):>11}"
                                                   for n in nets))
    if args.convs:
        print(f"\n|dL/dW| per conv\n{'conv':<26} {'depth':>5}{cols}")
        for i, c in enumerate(nets[0].convs):
            name = c.name + (" (shortcut)" if c.shortcut else "")
            print(f"{name:<26} {c.depth:>5}" + "".join(f" {_e(n.convs[i].weight_grad_norm):>11}"
                                                       for n in nets))
    print()
    print(f"{'α':>5} {'first/last':>11} {'resp. std':>10}  verdict")
    for p in sweep.profiles:
        stds = p.net.response_stds
        print(f"{p.alpha:>5g} {format_factor(p.net.first_to_last):>11} "
              f"{float(stds.mean()):>10.4g}  {p.net.verdict}")
    print("  (first/last: the first conv's weight-gradient norm ÷ the last conv's; resp. std: "
          "the mean over blocks of the branch response's std)")
    return 0
