"""`resnet-studio lesion MODEL`: delete one block at a time at test time (Veit et al. 2016).

Either lesions trained weights -- a stored run or a shipped net and its plain twin (`--run`;
without a model: your newest trained pair, else the shipped ResNet-20 and plain-20), or a
checkpoint (`--checkpoint`) -- evaluated on the held-out split of the data they were trained on,
or trains the model itself first (on `--data`, for `--steps` or until well above chance) and
says so. The built-in `synthetic` dataset is hard: a ResNet-20 needs a thousand steps or more
to get well above chance, which takes minutes on a CPU; `--data templates` is an easy task that
shows the effect after ~100 steps.
"""

from __future__ import annotations

import sys

from resnet_studio.app.lesion import BATCH, LR, TASKS
from resnet_studio.commands._common import progress_for_cli

DATA = ("synthetic", "templates")
SYN, TPL = TASKS["synthetic"], TASKS["templates"]


HELP = "accuracy with each block deleted at test time (Veit et al. 2016)"
DESCRIPTION = ("Accuracy of the intact model, then with each block whose input and output shapes "
               "match deleted in turn (a residual block keeps its identity path; a plain block "
               "is skipped). Without --checkpoint the model is first trained briefly on the "
               "built-in synthetic dataset until it is well above chance.")


def add_parser(sub) -> None:
    p = sub.add_parser("lesion", help=HELP, description=DESCRIPTION)
    p.add_argument("model", nargs="?", help="a preset name or a spec .json file to train here "
                   "(without it, --run or --checkpoint: your newest trained net and its trained "
                   "plain twin, else the shipped ResNet-20 and plain-20)")
    p.add_argument("--run", metavar="RUN",
                   help="a stored run (id, unique prefix or 'last') or a shipped net "
                        "('shipped:resnet56'): its checkpoint and its plain twin's (see "
                        "`runs trained`)")
    p.add_argument("--checkpoint", action="append", metavar="CKPT",
                   help="a run folder or its checkpoint.json; give it twice to compare two runs")
    p.add_argument("--compare-plain", action="store_true",
                   help="also train the plain twin (same initial weights, same batches)")
    p.add_argument("--data", choices=DATA, default="synthetic",
                   help="what to train on without a checkpoint: the built-in synthetic dataset "
                        "(hard; default) or templates (10 fixed random images in heavy noise: "
                        "easy, learnt in ~100 steps)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"training steps before the lesion study (default: until the model is "
                        f"well above chance, in rounds of {SYN.steps} steps on synthetic, "
                        f"{TPL.steps} on templates; 0: untrained)")
    p.add_argument("--batch", type=int, default=BATCH,
                   help=f"training batch size (default {BATCH})")
    p.add_argument("--lr", type=float, default=LR, help="peak learning rate (cosine decay)")
    p.add_argument("--size", type=int, default=None,
                   help=f"image side (default {SYN.size} synthetic, {TPL.size} templates; at "
                        "least 32 for ImageNet-stem models)")
    p.add_argument("--classes", type=int, default=10, help="classes (default 10)")
    p.add_argument("--train", type=int, default=None,
                   help=f"training images (default {SYN.train} synthetic, {TPL.train} templates)")
    p.add_argument("--val", type=int, default=None,
                   help=f"held-out images for the lesion study (default {SYN.val} synthetic, "
                        f"{TPL.val} templates; with --checkpoint: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, data and batches")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--csv", action="store_true",
                   help="print one row per deleted block as CSV (as the tab's export)")


def request_from(args):
    """The LesionRequest the flags describe."""
    from resnet_studio.app.lesion import LesionRequest
    from resnet_studio.app.models import load_spec

    common = dict(task=args.data, steps=args.steps, seed=args.seed,
                  compare_plain=args.compare_plain, batch_size=args.batch, lr=args.lr,
                  size=args.size, classes=args.classes, train=args.train, val=args.val)
    if args.checkpoint:
        return LesionRequest(checkpoints=tuple(args.checkpoint), checkpoint_model=args.model,
                             **common)
    if args.model and not args.run:
        return LesionRequest(spec=load_spec(args.model), **common)
    model = _trained(args.run)
    print(f"lesioning {model.describe()}", file=sys.stderr)
    paths = (model.checkpoint, model.twin) if model.twin else (model.checkpoint,)
    return LesionRequest(checkpoints=tuple(str(p) for p in paths), **common)


def _trained(ref: str | None):
    """The trained net `ref` names, or by default the newest trained pair (else shipped)."""
    from resnet_studio.app.trained_models import (
        default_pair,
        resolve_trained_model,
        trained_models,
    )

    return resolve_trained_model(ref) if ref else default_pair(trained_models())


def run(args) -> int:
    from resnet_studio.app.gradients import lesion_csv, lesion_json
    from resnet_studio.app.lesion import run_lesion, training_plan

    request = request_from(args)
    plan = training_plan(request)
    if plan:
        print(plan, file=sys.stderr)
    result = run_lesion(request, progress=progress_for_cli())
    reports = result.reports
    if args.json or args.csv:
        print(lesion_json(reports) if args.json else lesion_csv(reports).rstrip("\n"))
        return 0
    for r in reports:
        print(f"{r.model}: {r.source}")
        print(f"{'deleted block':<14} {'as':<14} {'accuracy':>9} {'drop':>7}")
        print(f"{'(none)':<14} {'intact':<14} {100 * r.intact_accuracy:>8.1f}% {'':>7}")
        for b in r.blocks:
            print(f"{b.id:<14} {b.deleted_as:<14} {100 * b.accuracy:>8.1f}% "
                  f"{100 * b.drop:>+6.1f}")
        if r.skipped:
            print(f"not deleted (they change the shape): {', '.join(r.skipped)}")
        print()
    for line in result.summary:
        print(line)
    if result.advice:
        print(f"hint: {result.advice}")
    return 0
