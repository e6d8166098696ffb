"""`resnet-studio attribute IMG --model M --method NAME --out heat.png`: which pixels a
prediction depends on (Captum), as a heat map over the image the model saw.

`--json` prints the target, the timing and, for Integrated Gradients, the convergence delta;
`--npy` also saves the raw C x H x W map; `--sanity` runs the cascading model randomisation
check (Adebayo et al. 2018) and prints the rank correlation after each step."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from resnet_studio.commands._common import add_weights_args, load_source
from resnet_studio.core.common.device import resolve_device


def add_parser(sub) -> None:
    from resnet_studio.core.analysis.attribution_names import (
        BASELINES,
        COLORMAPS,
        METHODS,
        NOISE_TUNNELS,
    )

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
    p.add_argument("--out", "-o", help="PNG to write (default <image>_<method>.png)")
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


def method_params(args, method: str, noise_tunnel: str | None) -> dict:
    """The --flags that the method (and the noise tunnel) take, by parameter name."""
    from resnet_studio.core.analysis.attribution import DEFAULT_PARAMS, NOISE_TUNNEL_DEFAULTS

    allowed = set(DEFAULT_PARAMS[method]) | (set(NOISE_TUNNEL_DEFAULTS) if noise_tunnel else set())
    want = {"steps": args.steps, "baseline": args.baseline, "window": args.window,
            "stride": args.stride, "layer": args.layer, "seed": args.seed}
    if noise_tunnel:
        want.update(nt_samples=args.samples, nt_stdevs=args.stdevs, nt_batch_size=args.batch_size)
    else:
        want.update(samples=args.samples, stdevs=args.stdevs)
    if method == "integrated_gradients" and not noise_tunnel:
        want["internal_batch_size"] = args.batch_size
    if method == "occlusion":
        want["perturbations_per_eval"] = args.batch_size
    return {k: v for k, v in want.items() if v is not None and k in allowed}


def parse_target(text: str, categories) -> int | None:
    t = str(text).strip()
    if t.lower() in ("pred", "predicted", ""):
        return None
    if t.lstrip("-").isdigit():
        i = int(t)
        if not 0 <= i < len(categories):
            raise ValueError(f"--target {i} is not a class index (0..{len(categories) - 1})")
        return i
    low = [c.lower() for c in categories]
    if t.lower() in low:
        return low.index(t.lower())
    raise ValueError(f"--target '{t}' is neither 'pred', a class index nor a class name")


def run(args) -> int:
    import warnings

    from PIL import Image

    from resnet_studio.core.analysis.attribution import (
        attribute,
        cascading_randomization,
        heatmap,
        overlay,
        preprocessed_image,
    )
    from resnet_studio.core.common.files import write_bytes_atomic
    from resnet_studio.core.images import load_image

    if args.model is None and args.weights is None:
        raise ValueError("name a model with --model (e.g. --model resnet18), or pass a "
                         "checkpoint with --weights")
    if args.noise_tunnel and args.method in ("occlusion", "gradient_shap"):
        raise ValueError(f"--noise-tunnel cannot wrap {args.method}")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"captum\.")
    loaded = load_image(args.image)
    source = load_source(args, random_if_no_default=True)
    model = source.model.to(resolve_device(args.device))
    pre = source.preprocess
    x = pre(loaded)
    target = parse_target(args.target, source.categories)
    params = method_params(args, args.method, args.noise_tunnel)
    tty = sys.stderr.isatty()

    def progress(done, total, message):
        if tty:
            sys.stderr.write(f"\r{message}: {done}/{total}")
            sys.stderr.flush()

    result = attribute(model, x, args.method, target=target, noise_tunnel=args.noise_tunnel,
                       mean=pre.mean, std=pre.std, progress=progress, **params)
    if tty:
        sys.stderr.write("\n")
    signed = bool(args.signed)
    cmap = args.colormap or ("bwr" if signed else "viridis")
    heat = heatmap(result.attribution, signed=signed, clip_percentile=args.clip)
    picture = overlay(preprocessed_image(pre, loaded), heat, colormap=cmap, signed=signed,
                      opacity=args.opacity)
    out = Path(args.out) if args.out else \
        Path(args.image).with_name(f"{Path(args.image).stem}_{args.method}.png")
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, format="PNG")
    write_bytes_atomic(out, buf.getvalue())
    if args.npy:
        import numpy as np

        with open(args.npy, "wb") as f:
            np.save(f, result.attribution)
    sanity = None
    if args.sanity:
        sanity = cascading_randomization(model, x, args.method, target=result.target,
                                         noise_tunnel=args.noise_tunnel, mean=pre.mean,
                                         std=pre.std, **params)
    categories = source.categories
    label = categories[result.target] if result.target < len(categories) else \
        f"class {result.target}"
    if args.json:
        doc = {"model": source.spec.name, "weights": source.label, "image": str(args.image),
               "out": str(out), "npy": args.npy, "target_label": label, "signed": signed,
               "colormap": cmap, **result.to_dict()}
        if sanity is not None:
            doc["sanity"] = sanity.to_dict()
        print(json.dumps(doc, indent=1))
    else:
        print(f"{source.spec.name} — {source.label}")
        print(f"{result.label} for class {result.target} ({label}) in {result.seconds:.2f} s"
              + (f"; convergence delta {result.delta:.3g}" if result.delta is not None else ""))
        if sanity is not None:
            print("sanity check (cascading randomisation, Spearman of |map|):")
            for s in sanity.steps:
                print(f"  randomised down to {s.randomized:<10} {s.spearman_abs:+.3f}")
            print("  FLAGGED: the maps barely depend on the weights" if sanity.flagged
                  else "  passed: the maps change when the weights are randomised")
        print(f"wrote {out}" + (f" and {args.npy}" if args.npy else ""))
    return 0
