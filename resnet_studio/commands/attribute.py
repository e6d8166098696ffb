"""`resnet-studio attribute IMG --model M --method NAME --out heat.png`: which pixels a
prediction depends on (Captum), as a heat map over the image the model saw.

`--json` prints the target, the timing and, for Integrated Gradients, the convergence delta;
`--npy` also saves the raw C x H x W map; `--sanity` runs the cascading model randomisation
check (Adebayo et al. 2018) and prints the rank correlation after each step. The job itself is
`app.attribution.compute_attributions`, the one the Attributions tab runs."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from resnet_studio.commands._common import (
    add_weights_args,
    output_name,
    progress_for_cli,
    stop_on_ctrl_c,
    stopped_exit_code,
)
from resnet_studio.core.analysis.attribution_names import (
    BASELINES,
    COLORMAPS,
    METHODS,
    NOISE_TUNNEL_METHODS,
    NOISE_TUNNELS,
)


def add_parser(sub) -> None:
    p = sub.add_parser("attribute", help="attribution heat map (Integrated Gradients, "
                                         "Grad-CAM, occlusion, ...) for one image, as a PNG")
    p.add_argument("image", metavar="IMG", help="an image file")
    add_weights_args(p)
    p.add_argument("--method", default="integrated_gradients", choices=METHODS,
                   help="attribution method (default integrated_gradients)")
    p.add_argument("--target", default="pred",
                   help="'pred' (the predicted class, default), a class index or a class name")
    p.add_argument("--noise-tunnel", choices=NOISE_TUNNELS,
                   help="average (smoothgrad) or take the variance (vargrad) over noisy copies")
    p.add_argument("--steps", type=int, help="IG: integration steps (default 50)")
    p.add_argument("--baseline", choices=BASELINES,
                   help="IG / DeepLift / GradientSHAP / occlusion baseline (default black)")
    p.add_argument("--batch-size", type=int,
                   help="internal batch size (IG steps, occlusion windows, noise samples)")
    p.add_argument("--samples", type=int,
                   help="GradientSHAP samples, or noise tunnel samples")
    p.add_argument("--stdevs", type=float, help="noise standard deviation (noise tunnel, "
                                                "GradientSHAP)")
    p.add_argument("--window", type=int, help="occlusion window side (default 8)")
    p.add_argument("--stride", type=int, help="occlusion stride (default 4)")
    p.add_argument("--layer", help="Grad-CAM layer (a block or conv; default the last block)")
    p.add_argument("--seed", type=int, help="seed for the random parts (default 0)")
    p.add_argument("--out", "-o", help="PNG to write (default <image>_<method>.png; - : to "
                                       "standard output)")
    p.add_argument("--npy", help="also save the raw C x H x W attribution array here")
    p.add_argument("--signed", action="store_true",
                   help="show signed values (blue negative, red positive) instead of |values|")
    p.add_argument("--colormap", choices=COLORMAPS,
                   help="default viridis (bwr with --signed)")
    p.add_argument("--opacity", type=float, default=0.6, help="heat map opacity (0..1)")
    p.add_argument("--clip", type=float, default=99.0,
                   help="percentile of |values| that maps to full colour (default 99)")
    p.add_argument("--sanity", action="store_true",
                   help="also run the cascading randomisation sanity check")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def request_from_args(args):
    """The AttributionRequest the flags describe."""
    from resnet_studio.app.attribution import AttributionRequest, MethodParams

    if args.model is None and args.weights is None:
        raise ValueError("name a model with --model (e.g. --model resnet18), or pass a "
                         "checkpoint with --weights")
    to_stdout = [flag for flag, value in (("--out", args.out), ("--npy", args.npy))
                 if value == "-"] + (["--json"] if args.json else [])
    if len(to_stdout) > 1:
        raise ValueError(f"{' and '.join(to_stdout)} would all print to standard output; "
                         "choose one")
    if args.noise_tunnel and args.method not in NOISE_TUNNEL_METHODS:
        raise ValueError(f"--noise-tunnel cannot wrap {args.method}")
    params = MethodParams(steps=args.steps, baseline=args.baseline, batch_size=args.batch_size,
                          samples=args.samples, stdevs=args.stdevs, window=args.window,
                          stride=args.stride, layer=args.layer, seed=args.seed)
    return AttributionRequest(image=args.image, model=args.model, weights=args.weights,
                              methods=(args.method,), target=args.target,
                              noise_tunnel=args.noise_tunnel, params=params, sanity=args.sanity,
                              device=args.device, download=not args.offline,
                              allow_partial=args.partial)


def run(args) -> int:
    from resnet_studio.app.attribution import compute_attributions
    from resnet_studio.app.attribution_export import Display, default_colormap, write_map
    from resnet_studio.app.model_sources import ModelSourceCache
    from resnet_studio.core.common.progress import Cancelled

    request = request_from_args(args)
    progress = progress_for_cli()
    with stop_on_ctrl_c(progress.cancel, "Stopping after this batch…") as signals:
        try:
            result = compute_attributions(request, models=ModelSourceCache(size=1),
                                          progress=progress)
        except Cancelled:
            print("cancelled", file=sys.stderr)
            return stopped_exit_code(signals) if signals else 130
    cell, sanity = result.cells[0], result.sanity
    display = Display(signed=bool(args.signed),
                      colormap=args.colormap or default_colormap(bool(args.signed)),
                      opacity=args.opacity, clip_percentile=args.clip)
    out = Path(args.out) if args.out else \
        Path(args.image).with_name(f"{Path(args.image).stem}_{args.method}.png")
    write_map(cell, out, display, args.npy)
    r = cell.result
    if args.json:
        doc = {"model": cell.model_name, "weights": cell.weights_label, "image": str(args.image),
               "out": str(out), "npy": args.npy, "target_label": cell.target_label,
               "signed": display.signed, "colormap": display.colormap, **r.to_dict()}
        if sanity is not None:
            doc["sanity"] = sanity.to_dict()
        print(json.dumps(doc, indent=1))
        return 0
    # with --out - or --npy -, stdout holds the file: the report goes to stderr
    stream = sys.stderr if "-" in (args.out, args.npy) else sys.stdout
    say = functools.partial(print, file=stream)
    say(f"{cell.model_name} — {cell.weights_label}")
    say(f"{r.label} for class {r.target} ({cell.target_label}) in {r.seconds:.2f} s"
        + (f"; convergence delta {r.delta:.3g}" if r.delta is not None else ""))
    if sanity is not None:
        say("sanity check (cascading randomisation, Spearman of |map|):")
        for s in sanity.steps:
            say(f"  randomised down to {s.randomized:<10} {s.spearman_abs:+.3f}")
        say("  FLAGGED: the maps barely depend on the weights" if sanity.flagged
            else "  passed: the maps change when the weights are randomised")
    say(f"wrote {output_name(out)}" + (f" and {output_name(args.npy)}" if args.npy else ""))
    return 0
