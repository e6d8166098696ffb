"""`resnet-studio lesion MODEL`: delete one block at a time at test time (Veit et al. 2016).

Either lesions the weights of a checkpoint (`--checkpoint`, evaluated on the held-out split of
the dataset it was trained on), or briefly trains the model itself first (`--steps`, on `--data`)
and says so. The built-in `synthetic` dataset is hard: a ResNet-20 needs a thousand steps or more
to get well above chance, which takes minutes on a CPU; `--data templates` is an easy task that
shows the effect after ~100 steps.
"""

from __future__ import annotations

import json
import sys

DATA = ("synthetic", "templates")
DEFAULTS = {"synthetic": dict(steps=1000, size=16, train=4000, val=1000),
            "templates": dict(steps=100, size=8, train=2048, val=512)}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "lesion", help="accuracy with each block deleted at test time (Veit et al. 2016)",
        description="Accuracy of the intact model, then with each block whose input and output "
                    "shapes match deleted in turn (a residual block keeps its identity path; a "
                    "plain block is skipped). Without --checkpoint the model is first trained "
                    "briefly on the built-in synthetic dataset.")
    p.add_argument("model", nargs="?", help="a preset name or a spec .json file (not needed "
                   "with --checkpoint)")
    p.add_argument("--checkpoint", action="append", metavar="CKPT",
                   help="a run folder or its checkpoint.json; give it twice to compare two runs")
    p.add_argument("--compare-plain", action="store_true",
                   help="also train the plain twin (same initial weights, same batches)")
    p.add_argument("--data", choices=DATA, default="synthetic",
                   help="what to train on without a checkpoint: the built-in synthetic dataset "
                        "(hard; default) or templates (10 fixed random images in heavy noise: "
                        "easy, learnt in ~100 steps)")
    p.add_argument("--steps", type=int, default=None,
                   help="training steps before the lesion study (default 1000 on synthetic, "
                        "100 on templates; 0: untrained)")
    p.add_argument("--batch", type=int, default=64, help="training batch size (default 64)")
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate (cosine decay)")
    p.add_argument("--size", type=int, default=None,
                   help="image side (default 16 synthetic, 8 templates; at least 32 for "
                        "ImageNet-stem models)")
    p.add_argument("--classes", type=int, default=10, help="classes (default 10)")
    p.add_argument("--train", type=int, default=None,
                   help="training images (default 4000 synthetic, 2048 templates)")
    p.add_argument("--val", type=int, default=None,
                   help="held-out images for the lesion study (default 1000 synthetic, 512 "
                        "templates; with --checkpoint: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, data and batches")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")


def _progress(label: str):
    def report(step: int, total: int, loss: float) -> None:
        if step % 50 == 0 or step == total:
            print(f"  training {label}: step {step}/{total}, loss {loss:.3f}", file=sys.stderr)
    return report


def _preset_name(name: str) -> str:
    from resnet_studio.core.zoo import resolve_name

    try:
        return resolve_name(name)
    except KeyError:
        return name


def _from_checkpoints(args) -> list:
    import torch

    from resnet_studio.core.analysis.lesion import lesion_study
    from resnet_studio.core.data import load_dataset
    from resnet_studio.core.models.builder import build_model
    from resnet_studio.core.training.checkpoint import load_checkpoint

    reports = []
    for path in args.checkpoint:
        ckpt = load_checkpoint(path)
        if args.model and len(args.checkpoint) == 1 and \
                _preset_name(args.model) != _preset_name(ckpt.spec.name):
            raise ValueError(f"the checkpoint holds {ckpt.spec.name}, not {args.model}")
        model = build_model(ckpt.spec)
        model.load_state_dict(ckpt.model_state)
        cfg = ckpt.config
        data = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction,
                            image_size=cfg.image_size or None, download=False)
        if len(data.val_y) == 0:
            raise ValueError(f"{cfg.dataset} has no held-out images to evaluate on")
        mean = torch.tensor(data.info.mean).view(1, -1, 1, 1)
        std = torch.tensor(data.info.std).view(1, -1, 1, 1)
        images = (data.val_x.float() / 255.0 - mean) / std
        if args.val:
            images, labels = images[: args.val], data.val_y[: args.val]
        else:
            labels = data.val_y
        source = (f"checkpoint {ckpt.path} (step {ckpt.step}, trained on {cfg.dataset}); "
                  f"evaluated on {len(labels)} held-out images of {data.info.name}")
        reports.append(lesion_study(model, images, labels, source=source))
    return reports


def _trained_here(args) -> list:
    from resnet_studio.app.models import load_spec
    from resnet_studio.core.analysis.gradients import build_seeded, plain_twin_of
    from resnet_studio.core.analysis.lesion import (
        lesion_study,
        synthetic_task,
        template_task,
        train_briefly,
    )
    from resnet_studio.core.zoo import with_io

    if not args.model:
        raise ValueError("name a model, or give --checkpoint")
    d = DEFAULTS[args.data]
    steps = d["steps"] if args.steps is None else args.steps
    n_train = args.train or d["train"]
    n_val = args.val or d["val"]
    if steps < 0:
        raise ValueError("--steps must be 0 or more")
    spec = load_spec(args.model)
    spec = with_io(spec, in_channels=3, num_classes=args.classes)
    if args.compare_plain and spec.plain:
        raise ValueError(f"{spec.name} is already plain; --compare-plain needs a residual model")
    size = args.size or max(d["size"], spec.min_input_side)
    if size < spec.min_input_side:
        raise ValueError(f"--size {size} is too small for {spec.name} "
                         f"(at least {spec.min_input_side})")
    make = synthetic_task if args.data == "synthetic" else template_task
    tx, ty, vx, vy, dataset = make(size=size, train=n_train, val=n_val, classes=args.classes,
                                   seed=args.seed)
    model = build_seeded(spec, args.seed)
    models = [model]
    if args.compare_plain:
        models.append(plain_twin_of(model)[0])  # the same initial weights
    reports = []
    for m in models:
        name = m.spec.name
        if steps:
            print(f"training {name} for {steps} steps on {dataset}", file=sys.stderr)
            train_briefly(m, tx, ty, steps=steps, batch_size=args.batch, lr=args.lr,
                          seed=args.seed, progress=_progress(name))
            how = (f"trained here for {steps} steps (SGD momentum 0.9, batch "
                   f"{min(args.batch, len(ty))}, lr {args.lr} cosine, seed {args.seed}) on "
                   f"{dataset}")
        else:
            how = f"untrained (initial weights, seed {args.seed})"
        source = f"{how}; evaluated on its {len(vy)} held-out images"
        reports.append(lesion_study(m, vx, vy, source=source))
    return reports


def run(args) -> int:
    from resnet_studio.core.analysis.lesion import near_chance, summarize_lesion

    reports = _from_checkpoints(args) if args.checkpoint else _trained_here(args)
    if args.json:
        print(json.dumps({"reports": [r.to_dict() for r in reports]}, indent=1))
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
    for r in reports:
        print(summarize_lesion(r))
    if len(reports) == 2 and all(r.blocks for r in reports):
        a, b = reports
        print(f"mean drop per deleted block: {a.model} {100 * a.mean_drop:.1f} points, "
              f"{b.model} {100 * b.mean_drop:.1f} points")
    if any(near_chance(r) for r in reports):
        print("hint: train longer (--steps), try the easy task (--data templates), or lesion a "
              "trained checkpoint (--checkpoint)")
    return 0
