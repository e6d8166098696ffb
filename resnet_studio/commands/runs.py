"""`resnet-studio runs`: the recorded training runs; export, rename, delete."""

from __future__ import annotations

import json
import sys
import time


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="list recorded training runs; export their metrics as CSV")
    p.add_argument("--json", action="store_true", help="the list as JSON")
    p.add_argument("--experiment", help="only the runs of this experiment id")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    e = actions.add_parser("export", help="a run's metrics as CSV (one row per step)")
    e.add_argument("run", help="run id (or a unique prefix, or 'last')")
    e.add_argument("--csv", nargs="?", const="-", default="-", metavar="FILE",
                   help="write to FILE (default: stdout)")
    s = actions.add_parser("show", help="one run with its spec, config and last metrics (JSON)")
    s.add_argument("run")
    r = actions.add_parser("rename", help="rename a run")
    r.add_argument("run")
    r.add_argument("name")
    d = actions.add_parser("delete", help="delete a run from the list")
    d.add_argument("run")
    d.add_argument("--files", action="store_true", help="also delete its checkpoints")


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def run(args) -> int:
    from resnet_studio.core.training.store import RunStore

    with RunStore() as store:
        action = getattr(args, "action", None)
        if action == "export":
            run_id = store.resolve(args.run)
            if args.csv in (None, "-"):
                sys.stdout.write(store.export_csv(run_id))
            else:
                store.export_csv(run_id, args.csv)
                print(f"wrote {args.csv}", file=sys.stderr)
            return 0
        if action == "show":
            rec = store.get(args.run)
            print(json.dumps({**rec.to_dict(), "last": store.last_metrics(rec.id)}, indent=1))
            return 0
        if action == "rename":
            store.rename(args.run, args.name)
            return 0
        if action == "delete":
            store.delete(args.run, delete_files=args.files)
            return 0

        runs = store.list_runs(experiment_id=args.experiment)
        rows = []
        for rec in runs:
            last = store.last_metrics(rec.id)
            rows.append({"id": rec.id, "name": rec.name, "model": rec.model,
                         "dataset": rec.dataset, "status": rec.status, "step": rec.step,
                         "total_steps": rec.total_steps, "train_error": last.get("train/error"),
                         "val_error": last.get("val/error"), "created": rec.created,
                         "checkpoint": rec.checkpoint})
        if args.json:
            print(json.dumps(rows, indent=1))
            return 0
        if not rows:
            print("no runs yet (start one with `resnet-studio train resnet20`)")
            return 0
        print(f"{'id':<21} {'model':<18} {'dataset':<14} {'status':<11} {'steps':>13} "
              f"{'train err':>9} {'val err':>8}  {'created':<16} name")
        for r in rows:
            created = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"]))
            steps = f"{r['step']}/{r['total_steps']}"
            print(f"{r['id']:<21} {r['model'][:18]:<18} {r['dataset'][:14]:<14} "
                  f"{r['status']:<11} {steps:>13} {_pct(r['train_error']):>9} "
                  f"{_pct(r['val_error']):>8}  {created:<16} {r['name']}")
        return 0
