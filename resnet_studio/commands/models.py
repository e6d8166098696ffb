"""`resnet-studio models`: every preset with its parameter count."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list every preset with its parameter count")
    p.add_argument("--family", help="only presets whose family contains this text")
    p.add_argument("--json", action="store_true", help="one JSON document instead of a table")


def run(args) -> int:
    from resnet_studio.core.inspect import summarize
    from resnet_studio.core.zoo import PRESETS

    rows = []
    for p in PRESETS.values():
        if args.family and args.family.lower() not in p.family.lower():
            continue
        rows.append({"name": p.name, "family": p.family, "params": summarize(p.spec).total_params,
                     "depth": p.spec.depth, "block": p.spec.block, "shortcut": p.spec.shortcut,
                     "preact": p.spec.preact, "input": list(p.spec.default_input),
                     "classes": p.spec.num_classes, "reference": p.reference})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':<26} {'family':<26} {'params':>13}  {'shortcut':<8} input")
    for r in rows:
        print(f"{r['name']:<26} {r['family']:<26} {r['params']:>13,}  {r['shortcut']:<8} "
              f"{'x'.join(map(str, r['input']))}")
    print(f"{len(rows)} models")
    return 0
