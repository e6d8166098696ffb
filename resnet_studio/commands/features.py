"""`resnet-studio features IMG --model M --layer NAME --out grid.png`: a layer's feature maps
as one colour-mapped mosaic PNG (all channels tiled); `--list` prints the layer names."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from resnet_studio.commands._common import add_weights_args, load_source, output_name
from resnet_studio.core.common.device import resolve_device


def add_parser(sub) -> None:
    p = sub.add_parser("features", help="feature maps of one layer for one image, as a PNG "
                                        "mosaic (or --list the layers)")
    p.add_argument("image", metavar="IMG", help="an image file")
    add_weights_args(p)
    p.add_argument("--layer", "-l", help="layer name (see --list), e.g. layer1.0.conv1, "
                                         "layer2.0, layer1.0.relu:2")
    p.add_argument("--list", action="store_true", help="print the layer names and shapes")
    p.add_argument("--out", "-o", help="PNG to write (default: <image>_<layer>.png; "
                                       "- : to standard output)")
    p.add_argument("--sort", default="mean", choices=["mean", "std", "max", "none"],
                   help="tile order: by descending per-channel statistic (default mean)")
    p.add_argument("--normalise", default="per-channel", choices=["per-channel", "global"])
    p.add_argument("--cols", type=int, help="tiles per row (default: square-ish)")
    p.add_argument("--colormap", default="viridis", choices=["viridis", "gray"])
    p.add_argument("--scale", type=int, default=0,
                   help="enlarge each map pixel this many times (default: so a map is ≥ 32 px)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args) -> int:
    from resnet_studio.app import features as F
    from resnet_studio.app.images import DECODE_MAX_SIDE
    from resnet_studio.core.analysis.features import list_layers
    from resnet_studio.core.images import load_image

    if args.model is None and args.weights is None:
        raise ValueError("name a model with --model (e.g. --model resnet18), or pass a "
                         "checkpoint with --weights")
    if args.out == "-" and args.json:
        raise ValueError("--out - and --json both print to standard output; choose one")
    loaded = load_image(args.image, max_side=DECODE_MAX_SIDE)
    source = load_source(args, random_if_no_default=True)
    source.model.to(resolve_device(args.device))
    if args.list or not args.layer:
        shape = source.preprocess.input_shape
        print(f"{source.spec.name} — {source.label}; input {'x'.join(map(str, shape))}")
        for r in list_layers(source.model, shape):
            print(f"{r.name:<28} {r.type:<20} {'x'.join(map(str, r.shape))}")
        return 0
    options = F.MosaicOptions(normalise=args.normalise, colormap=args.colormap,
                              sort_by=None if args.sort == "none" else args.sort, cols=args.cols)
    mosaic = F.mosaic_image(F.layer_maps(source, loaded, args.layer), options)
    fm = mosaic.maps
    out = Path(args.out) if args.out else \
        Path(f"{Path(args.image).stem}_{args.layer.replace(':', '-')}.png")
    width, height = F.write_mosaic_png(out, mosaic, args.scale or F.default_scale(fm))
    if args.json:
        print(json.dumps({
            "out": str(out), "model": source.spec.name, "weights": source.label,
            "layer": fm.layer, "channels": fm.channels, "map_size": list(fm.size),
            "mosaic_size": [width, height], "sort": options.sort_by,
            "order": mosaic.order.tolist(), "mean": float(fm.mean.mean()),
            "max": float(fm.max.max()), "notes": list(loaded.notes)}, indent=1))
    else:  # with --out -, stdout holds the PNG: the line goes to stderr
        print(f"wrote {output_name(out)}: {fm.layer} of {source.spec.name} ({source.label}), "
              f"{fm.channels} maps of {fm.size[0]}×{fm.size[1]}, sorted by {options.sort_by or 'channel'}; "
              f"{width}×{height} px", file=sys.stderr if args.out == "-" else sys.stdout)
    return 0
