"""`resnet-studio runs`: the recorded training runs; export, rename, delete."""

from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="list recorded training runs; export their metrics as CSV")
    p.add_argument("--json", action="store_true", help="the list as JSON")
    p.add_argument("--experiment", help="only the runs of this experiment id")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    e = actions.add_parser("export", help="a run's metrics as CSV (one row per step) or as "
                           "TensorBoard event files")
    e.add_argument("run", help="run id (or a unique prefix, or 'last')")
    e.add_argument("--csv", nargs="?", const="-", default=None, metavar="FILE",
                   help="write to FILE (default, without --tensorboard: stdout)")
    e.add_argument("--tensorboard", metavar="DIR",
                   help="write TensorBoard event files (every metric by step, the config as "
                        "hparams) into DIR/<run id>; needs pip install "
                        "'resnet-studio[tensorboard]'")
    t = actions.add_parser("trained", help="the trained models on this machine (runs with a "
                           "checkpoint, the shipped nets): each checkpoint and its plain twin's")
    t.add_argument("--json", action="store_true", help="as JSON")
    s = actions.add_parser("show", help="one run with its spec, config and last metrics (JSON)")
    s.add_argument("run")
    f = actions.add_parser("fig7", help="He et al. Fig. 7 on the run's trained weights: each "
                           "layer's response std (eval-mode BN) on its validation images")
    f.add_argument("run")
    f.add_argument("--out", metavar="FILE", help="also write FILE: .csv, .json or a figure "
                   "(.png/.svg; needs matplotlib)")
    r = actions.add_parser("rename", help="rename a run")
    r.add_argument("run")
    r.add_argument("name")
    d = actions.add_parser("delete", help="delete a run from the list")
    d.add_argument("run")
    d.add_argument("--files", action="store_true", help="also delete its checkpoints")


def run(args) -> int:
    from resnet_studio.app.runs import RunHistory, runs_table

    with RunHistory() as history:
        action = getattr(args, "action", None)
        store = history.store  # opening it may move a damaged file aside or find it read-only
        # a read-only store before a change: the change's own error says it in one line
        if store.notice and not (store.read_only and action in ("rename", "delete")):
            print(store.notice, file=sys.stderr)
        if action == "export":
            if args.tensorboard:
                _export_tensorboard(history, args.run, args.tensorboard)
            if args.csv == "-" or (args.csv is None and not args.tensorboard):
                sys.stdout.write(history.export_csv(args.run))
            elif args.csv:
                history.export_csv(args.run, args.csv)
                print(f"wrote {args.csv}", file=sys.stderr)
        elif action == "trained":
            _trained(args)
        elif action == "show":
            print(json.dumps(history.details(args.run), indent=1))
        elif action == "fig7":
            _fig7(args)
        elif action == "rename":
            history.rename(args.run, args.name)
        elif action == "delete":
            history.delete(args.run, delete_files=args.files)
        else:
            rows = history.rows(experiment_id=args.experiment)
            if args.json:
                print(json.dumps([r.to_dict() for r in rows], indent=1))
            else:
                sys.stdout.write(runs_table(rows))
    return 0


def _trained(args) -> None:
    from resnet_studio.app.trained_models import trained_models, trained_models_table

    models = trained_models()
    if args.json:
        print(json.dumps([m.to_dict() for m in models], indent=1))
    else:
        sys.stdout.write(trained_models_table(models))


def _export_tensorboard(history, ref: str, folder: str) -> None:
    from resnet_studio.app.exports import export_tensorboard

    done = export_tensorboard(history, ref, folder)
    print(f"wrote {done.scalars} points of {len(done.tags)} metrics and the run's hparams to "
          f"{done.folder} (tensorboard --logdir {folder})", file=sys.stderr)


def _fig7(args) -> None:
    from resnet_studio.app.responses import (
        responses_json,
        responses_text,
        run_responses,
        write_responses,
    )

    profiles = [run_responses(args.run)]
    if args.out:
        print(f"wrote {write_responses(profiles, args.out)}", file=sys.stderr)
    print(responses_json(profiles) if args.json else responses_text(profiles))
