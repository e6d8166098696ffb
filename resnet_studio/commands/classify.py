"""`resnet-studio classify IMG... --model M`: top-k classes per image, with class names.

Exit code 0 when at least one image was classified, 2 when none was (every file failed, or the
weights could not be loaded). Files that fail are listed one per line on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from resnet_studio.commands._common import add_weights_args, load_source
from resnet_studio.core.common.device import resolve_device


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="classify images with pretrained, trained or random "
                                        "weights (top-k with class names)")
    p.add_argument("images", nargs="+", metavar="IMG",
                   help="image files or folders (searched recursively)")
    add_weights_args(p)
    p.add_argument("--topk", "-k", type=int, default=5, help="classes per image (default 5)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--csv", metavar="FILE", help="also write image,rank,class,label,probability")


def run(args) -> int:
    from resnet_studio.core.classify import classify, write_predictions_csv
    from resnet_studio.core.images import load_images

    if args.topk < 1:
        raise ValueError("--topk must be at least 1")
    if args.model is None and args.weights is None:
        raise ValueError("name a model with --model (e.g. --model resnet18), or pass a "
                         "checkpoint with --weights")
    images, failures = load_images(args.images)
    for f in failures:
        print(f"resnet-studio classify: skipped {f.path}: {f.reason}", file=sys.stderr)
    if not images:
        print("resnet-studio classify: no image could be loaded", file=sys.stderr)
        return 2
    source = load_source(args)
    predictions = classify(source, images, topk=args.topk, batch_size=args.batch_size,
                           device=resolve_device(args.device))
    if args.csv:
        write_predictions_csv(Path(args.csv), predictions)
    if args.json:
        print(json.dumps({
            "model": source.spec.name, "weights": source.label, "kind": source.kind,
            "preprocess": source.preprocess.to_dict(),
            "predictions": [dict(p.to_dict(), notes=list(images[p.index].notes))
                            for p in predictions],
            "failures": [f.to_dict() for f in failures]}, indent=1))
    else:
        print(f"{source.spec.name} — {source.label}")
        for pred in predictions:
            notes = images[pred.index].notes
            print(f"\n{pred.path or pred.name}" + (f"  ({'; '.join(notes)})" if notes else ""))
            for rank, (label, prob) in enumerate(zip(pred.labels, pred.probabilities), 1):
                print(f"  {rank:>2}. {label:<40} {100 * prob:6.2f}%")
        if failures:
            print(f"\n{len(failures)} file(s) could not be read (listed on stderr)")
    return 0 if predictions else 2
