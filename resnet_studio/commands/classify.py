"""`resnet-studio classify IMG... --model M`: top-k classes per image, with class names.

Exit code 0 when at least one image was classified, 2 when none was (every file failed, or the
weights could not be loaded). Files that fail are listed one per line on stderr."""

from __future__ import annotations

import json
import sys

from resnet_studio.commands._common import add_weights_args, load_source, progress_for_cli
from resnet_studio.core.common.budget import memory_checks
from resnet_studio.core.common.device import resolve_device


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="classify images with pretrained, trained or random "
                                        "weights (top-k with class names)")
    p.add_argument("images", nargs="+", metavar="IMG",
                   help="image files or folders (searched recursively)")
    add_weights_args(p)
    p.add_argument("--topk", "-k", type=int, default=5, help="classes per image (default 5)")
    p.add_argument("--batch-size", type=int, default=16,  # app.classify.BATCH_SIZE
                   help="images decoded and classified at once (default 16)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--csv", metavar="FILE", help="also write image,rank,class,label,probability "
                                                 "(- : print only the CSV)")
    p.add_argument("--no-memory-check", action="store_true",
                   help="load weights files and classify batches even when they look larger "
                   "than the memory this machine has available")


def run(args) -> int:
    from resnet_studio.app.classify import classify_files, write_predictions_csv

    if args.topk < 1:
        raise ValueError("--topk must be at least 1")
    if args.model is None and args.weights is None:
        raise ValueError("name a model with --model (e.g. --model resnet18), or pass a "
                         "checkpoint with --weights")
    if args.csv == "-" and args.json:
        raise ValueError("--csv - and --json both print to standard output; choose one")
    with memory_checks(not args.no_memory_check):
        result = classify_files(args.images, lambda: load_source(args), topk=args.topk,
                                batch_size=args.batch_size, device=resolve_device(args.device),
                                progress=progress_for_cli(quiet=args.json or args.csv == "-"))
    for f in result.failures:
        print(f"resnet-studio classify: skipped {f.path}: {f.reason}", file=sys.stderr)
    if not result.predictions:
        print("resnet-studio classify: no image could be loaded", file=sys.stderr)
        return 2
    if args.csv:
        write_predictions_csv(args.csv, result.predictions)
        if args.csv == "-":
            return 0
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
        return 0
    print(f"{result.model} — {result.weights}")
    for pred, notes in zip(result.predictions, result.notes):
        print(f"\n{pred.path or pred.name}" + (f"  ({'; '.join(notes)})" if notes else ""))
        for rank, (label, prob) in enumerate(zip(pred.labels, pred.probabilities), 1):
            print(f"  {rank:>2}. {label:<40} {100 * prob:6.2f}%")
    if result.failures:
        print(f"\n{len(result.failures)} file(s) could not be read (listed on stderr)")
    return 0
