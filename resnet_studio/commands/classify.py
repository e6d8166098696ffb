"""`resnet-studio classify IMG... --model M`: top-k classes per image, with class names.

Exit code 0 when at least one image was classified, 2 when none was (every file failed, or the
weights could not be loaded). Files that fail are listed one per line on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_weights_args(p, *, model_required: bool = False) -> None:
    """--model / --weights / --partial / --offline, shared with `features`."""
    p.add_argument("--model", "-m", required=model_required,
                   help="a preset name (see `models`) or a spec .json file; may be left out "
                        "when --weights is a ResNet Studio checkpoint")
    p.add_argument("--weights", "-w",
                   help="imagenet (torchvision's pretrained weights; imagenet:IMAGENET1K_V1 for "
                        "a specific set), random (untrained), or a path: a ResNet Studio "
                        "checkpoint (run folder, checkpoint.json, .safetensors) or a .pt/.pth "
                        "state_dict (loaded with weights_only). Default: imagenet where "
                        "available")
    p.add_argument("--partial", action="store_true",
                   help="load the tensors of a state_dict that fit and keep the rest random")
    p.add_argument("--offline", action="store_true",
                   help="never download; use only weights already on this machine")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")


def progress_printer(stream=None):
    """A progress(done, total, message) callback that redraws one line on a terminal."""
    stream = sys.stderr if stream is None else stream
    last = {"pct": -1}
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False

    def show(done: int, total: int, message: str) -> None:
        if total:
            pct = int(100 * done / total)
            if pct == last["pct"] or (not tty and pct % 10 and done < total):
                return
            last["pct"] = pct
            line = f"{message}: {done / 1e6:.1f} of {total / 1e6:.1f} MB ({pct}%)"
        else:
            line = f"{message}: {done / 1e6:.1f} MB"
        stream.write(("\r" + line) if tty else line + "\n")
        if tty and total and done >= total:
            stream.write("\n")
        stream.flush()

    return show


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    return name


def load_source(args, *, random_if_no_default: bool = False):
    """The ModelSource the --model/--weights flags describe."""
    from resnet_studio.core.weights import default_weights, load_model_source

    weights = args.weights
    if weights is None and args.model is not None and random_if_no_default \
            and default_weights(args.model) is None:
        weights = "random"
    return load_model_source(args.model, weights, allow_partial=args.partial,
                             download=not args.offline, progress=progress_printer())


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
