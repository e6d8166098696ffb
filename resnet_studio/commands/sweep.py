"""`resnet-studio sweep`: train a grid of depths x variants x seeds and print the degradation
readout. The experiment is stored with the runs, so the Depth Lab can open it (its id is printed),
and `--resume ID` finishes an interrupted one."""

from __future__ import annotations

import json
import signal
import sys
import time


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sweep", help="depth experiment: plain vs residual nets of several depths (Fig. 6)",
        description="Train every depth x variant x seed under one schedule, one run at a time, "
        "and print the final training/test errors and the degradation readout (deep minus "
        "shallow training error per family). Starts from --preset (default: quick) and the "
        "flags you give override it.")
    p.add_argument("--preset", default=None,
                   help="quick (CPU demo, synthetic, plain/residual x 20/56) or he2015_fig6 "
                   "(CIFAR-10, the paper's schedule)")
    p.add_argument("--depths", help="comma-separated 6n+2 depths, e.g. 20,32,44,56,110")
    p.add_argument("--variants", help="comma-separated: plain, residual (option A), "
                   "residual_b (projection), preact")
    p.add_argument("--seeds", help="how many seeds (3 -> 0,1,2) or a list (0,5,7)")
    p.add_argument("--dataset", help="synthetic[:opts] | cifar10 | cifar100 | mnist | ...")
    p.add_argument("--steps", type=int, help="optimiser steps per run")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--eval-every", type=int)
    p.add_argument("--checkpoint-every", type=int,
                   help="steps between checkpoints (an interrupted run resumes from the last)")
    p.add_argument("--concurrency", type=int, default=1,
                   help="train this many runs at once (threads; useful on a GPU)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's own "
                   "choice; 1 is often faster for these small nets on a busy machine)")
    p.add_argument("--name", help="a name for the experiment")
    p.add_argument("--resume", metavar="ID", help="run what is missing of a stored experiment "
                   "(an id, a unique prefix or 'last')")
    p.add_argument("--list", action="store_true", help="list the stored experiments")
    p.add_argument("--show", metavar="ID", help="print a stored experiment's results")
    p.add_argument("--csv", metavar="FILE", help="also write the results table as CSV")
    p.add_argument("--offline", action="store_true", help="never download datasets")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ValueError(f"--{what} takes whole numbers separated by commas, got "
                         f"'{text}'") from None


def parse_seeds(text: str) -> list[int]:
    values = _ints(text, "seeds")
    if len(values) == 1 and "," not in text:
        if values[0] < 1:
            raise ValueError("--seeds must be at least 1")
        return list(range(values[0]))
    return values


def build_experiment_args(args):
    """(preset key, cells, config) from the flags."""
    from resnet_studio.core.experiments import get_experiment_preset, grid_cells

    preset = get_experiment_preset(args.preset or "quick")
    depths = _ints(args.depths, "depths") if args.depths else preset.depths
    variants = [v for v in args.variants.split(",") if v.strip()] if args.variants \
        else preset.variants
    seeds = parse_seeds(args.seeds) if args.seeds else preset.seeds
    if args.depths or args.variants or args.seeds:
        cells = grid_cells(depths, variants, seeds)
    else:
        cells = list(preset.cells)
    changes = {k: getattr(args, k) for k in ("dataset", "steps", "batch_size", "lr", "device",
                                              "eval_every", "checkpoint_every")
               if getattr(args, k) is not None}
    config = preset.config.replace(**changes).validate()
    return preset, cells, config


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _pct(v: float | None, scale: float = 100.0) -> str:
    return "-" if v is None else f"{scale * v:.2f}%"


def make_listener(stream, quiet: bool, total: int):
    from resnet_studio.core.experiments import ExperimentListener

    class Progress(ExperimentListener):
        def __init__(self):
            self.tty = hasattr(stream, "isatty") and stream.isatty()
            self.last = 0.0
            self.started = 0

        def _say(self, text: str, final: bool = True) -> None:
            if quiet:
                return
            if self.tty:
                stream.write("\r" + text.ljust(100)[:120] + ("\n" if final else ""))
            else:
                stream.write(text + "\n")
            stream.flush()

        def on_data_progress(self, done, total_, message):
            if time.monotonic() - self.last > 5 or done == total_:
                self.last = time.monotonic()
                self._say(f"{message} {done}/{total_}" if total_ else message, final=False)

        def on_run_start(self, cell, run_id, resumed):
            self.started += 1
            how = f"resumed at step {cell.step}" if resumed else "started"
            self._say(f"[{self.started}/{total}] {cell.label}: {how} (run {run_id})")

        def on_log(self, cell, log):
            if self.tty or time.monotonic() - self.last >= 5 or log.step == log.total_steps:
                self.last = time.monotonic()
                self._say(f"  {cell.label}: step {log.step}/{log.total_steps} loss "
                          f"{log.loss:.3f} err {100 * log.error:.1f}% "
                          f"{log.images_per_s:,.0f} img/s ETA {_fmt_time(log.eta_s)}",
                          final=not self.tty)

        def on_run_end(self, cell, result, message):
            if result is None:
                self._say(f"  {cell.label}: could not run: {message}")
                return
            self._say(f"  {cell.label}: {result.status} after {result.steps} steps, test err "
                      f"{_pct(result.val_error)}, {_fmt_time(cell.seconds)}"
                      + (f" - {message}" if message and result.status != "finished" else ""))

    return Progress()


def print_results(results, out) -> None:
    from resnet_studio.core.experiments import describe_experiment

    exp = results.experiment
    print(describe_experiment(exp), file=out)
    print(f"{'run':<24} {'status':<11} {'train err':>9} {'test err':>9} {'params':>9} "
          f"{'time':>7}", file=out)
    for r in results.runs:
        print(f"{r.model + ' seed ' + str(r.seed):<24} {r.status:<11} "
              f"{_pct(r.train_error):>9} {_pct(r.val_error):>9} {r.params / 1e6:>8.3f}M "
              f"{_fmt_time(r.seconds):>7}", file=out)
    if any(s.runs > 1 for s in results.summary):
        print("", file=out)
        print(f"{'model':<14} {'runs':>4} {'train err':>15} {'test err':>15} {'Table 6':>8}",
              file=out)
        for s in results.summary:
            pm = lambda m, sd: "-" if m is None else f"{m:.2f}±{sd:.2f}%"
            print(f"{s.model:<14} {s.runs:>4} {pm(s.train_error, s.train_error_std):>15} "
                  f"{pm(s.val_error, s.val_error_std):>15} "
                  f"{'-' if s.paper_error is None else f'{s.paper_error:.2f}%':>8}", file=out)
    print("", file=out)
    lines = results.degradation_lines()
    if not lines:
        print("degradation: needs two depths of a family with finished runs", file=out)
    for line in lines:
        print(f"degradation  {line}", file=out)


def run(args) -> int:
    from resnet_studio.core.experiments import (
        ExperimentRunner,
        ExperimentStore,
        describe_experiment,
    )

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError("--threads must be at least 1")
        import torch

        torch.set_num_threads(args.threads)
    with ExperimentStore() as store:
        if args.list:
            exps = store.list()
            if args.json:
                print(json.dumps([e.to_dict() for e in exps]))
            elif not exps:
                print("no experiments yet (run `resnet-studio sweep`)")
            for e in exps if not args.json else ():
                print(f"{e.id}  {describe_experiment(e)}")
            return 0
        if args.show:
            results = store.results(args.show)
            _emit(results, args)
            return 0

        if args.resume:
            exp = store.get(args.resume)
            if any(getattr(args, k) for k in ("depths", "variants", "seeds", "dataset",
                                               "steps", "preset")):
                raise ValueError("--resume continues a stored experiment as it was set up; "
                                 "drop the grid and schedule flags")
        else:
            preset, cells, config = build_experiment_args(args)
            name = args.name or (preset.title if not (args.depths or args.variants or args.seeds)
                                 else f"sweep {','.join(str(d) for d in sorted({c[0] for c in cells}))}")
            exp = store.create(name, cells, config, preset=preset.key)
        print(f"experiment {exp.id}: {len(exp.missing())} run(s) to do", file=sys.stderr)
        runner = ExperimentRunner(store, exp.id, concurrency=args.concurrency,
                                  listener=make_listener(sys.stderr, args.quiet,
                                                         len(exp.missing())),
                                  download=not args.offline)
        interrupted = {"count": 0}

        def on_sigint(signum, frame):
            interrupted["count"] += 1
            if interrupted["count"] > 1:
                raise KeyboardInterrupt
            print("\nstopping: the running run writes a checkpoint; `resnet-studio sweep "
                  f"--resume {exp.id}` finishes the rest (Ctrl+C again to abort)",
                  file=sys.stderr)
            runner.stop()

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            final = runner.run()
        finally:
            signal.signal(signal.SIGINT, previous)
        results = store.results(final)
        _emit(results, args)
        if not args.json:
            print(f"experiment {final.id} ({final.status}) - open it in the Depth Lab, or "
                  f"`resnet-studio sweep --show {final.id}`")
        if interrupted["count"]:
            return 130
        return 0 if final.status == "finished" else 1


def _emit(results, args) -> None:
    if args.csv:
        from pathlib import Path

        from resnet_studio.core.common.files import write_text_atomic

        write_text_atomic(Path(args.csv), results.to_csv())
        print(f"wrote {args.csv}", file=sys.stderr)
    if args.json:
        print(json.dumps(results.to_dict()))
    else:
        print_results(results, sys.stdout)
