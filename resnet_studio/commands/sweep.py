"""`resnet-studio sweep`: train a grid of depths x variants x seeds and print the degradation
readout. The experiment is stored with the runs, so the Depth Lab can open it (its id is printed),
and `--resume ID` finishes an interrupted one. The plan is `app.experiments.ExperimentPlan`, the
same one the Depth Lab makes from the same grid. `--backend ray` trains the runs as Ray tasks
(core.experiments.ray_backend; Ray is imported only then)."""

from __future__ import annotations

import sys
import time


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sweep", help="depth experiment: plain vs residual nets of several depths (Fig. 6)",
        description="Train every depth x variant x seed under one schedule, one run at a time, "
        "and print the final training/test errors and the degradation readout (deep minus "
        "shallow training error per family). Starts from --preset (default: quick) and the "
        "flags you give override it; with fewer --steps than the preset's, validation and "
        "logging come more often so each run keeps a handful of test points.")
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
    p.add_argument("--concurrency", type=int, default=None,
                   help="train this many runs at once (threads; useful on a GPU; default 1, "
                   "with --backend ray as many as the cluster fits)")
    p.add_argument("--threads", type=int, help="CPU threads for each run (default: measured "
                   "once per model family on this machine; 1 is often faster for these small "
                   "nets on a busy machine)")
    p.add_argument("--name", help="a name for the experiment")
    p.add_argument("--no-memory-check", action="store_true",
                   help="create the experiment even when a run's estimated memory (model, "
                   "batch, dataset) exceeds what this machine has available")
    ray = p.add_argument_group(
        "running on Ray (pip install 'resnet-studio[cluster]')",
        "Each run is a Ray task; its numbers land in the same run store as local runs.")
    ray.add_argument("--backend", choices=["local", "ray"], default="local",
                     help="where the runs train: this process (default) or Ray")
    ray.add_argument("--address", default="", metavar="ADDR", help="the Ray cluster: 'auto' (this machine "
                     "joined one with `ray start`), ray://HOST:10001, or none to start a local "
                     "Ray for this sweep")
    ray.add_argument("--gpus-per-run", type=float, default=0.0, metavar="F",
                     help="GPUs each run takes (0.25 packs four small nets on one GPU; "
                     "0: runs train on CPUs)")
    ray.add_argument("--cpus-per-run", type=float, default=1.0, metavar="N", help="CPUs each run takes")
    ray.add_argument("--storage", default="", metavar="DIR", help="a folder every worker can reach (or a "
                     "file:// URI) for the checkpoints (default: this app's runs folder)")
    ray.add_argument("--max-retries", type=int, default=3, metavar="K", help="times a run whose worker "
                     "died is retried from its last checkpoint")
    p.add_argument("--resume", metavar="ID", help="run what is missing of a stored experiment "
                   "(an id, a unique prefix or 'last')")
    p.add_argument("--list", action="store_true", help="list the stored experiments")
    p.add_argument("--show", metavar="ID", help="print a stored experiment's results")
    p.add_argument("--csv", metavar="FILE", help="also write the results table as CSV (- : "
                                                 "print only the CSV)")
    p.add_argument("--fig7", nargs="?", const="", metavar="FILE",
                   help="with --show: He et al. Fig. 7 on the trained nets (each layer's "
                        "response std, eval-mode BN), as a table; FILE.png/.svg the figure "
                        "(needs matplotlib), .csv or .json the numbers")
    p.add_argument("--offline", action="store_true", help="never download datasets")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ValueError(f"--{what} takes whole numbers separated by commas, got "
                         f"'{text}'") from None


def parse_seeds(text: str) -> int | list[int]:
    """"3" -> a count (seeds 0, 1, 2); "0,5,7" -> those seeds."""
    values = _ints(text, "seeds")
    if len(values) == 1 and "," not in text:
        if values[0] < 1:
            raise ValueError("--seeds must be at least 1")
        return values[0]
    return values


def plan_from_args(args):
    """The ExperimentPlan the flags describe."""
    from resnet_studio.app.experiments import ExperimentPlan

    return ExperimentPlan.from_grid(
        preset=args.preset or "quick",
        depths=_ints(args.depths, "depths") if args.depths else None,
        variants=[v for v in args.variants.split(",") if v.strip()] if args.variants else None,
        seeds=parse_seeds(args.seeds) if args.seeds else None, dataset=args.dataset,
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, device=args.device,
        eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
        threads=args.threads, name=args.name)


def make_listener(stream, quiet: bool, total: int):
    """An ExperimentListener that prints a line per run (and progress) on `stream`."""
    from resnet_studio.core.common.formatting import duration, percent
    from resnet_studio.core.experiments import ExperimentListener

    class Printer(ExperimentListener):
        # called on the runner's training threads: printing a line is short enough
        def __init__(self):
            self.tty = hasattr(stream, "isatty") and stream.isatty()
            self.last = 0.0
            self.started: set[int] = set()

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
            self.started.add(cell.index)  # a run retried after its worker died counts once
            how = f"resumed at step {cell.step}" if resumed else "started"
            self._say(f"[{len(self.started)}/{total}] {cell.label}: {how} (run {run_id})")

        def on_log(self, cell, log):
            if self.tty or time.monotonic() - self.last >= 5 or log.step == log.total_steps:
                self.last = time.monotonic()
                self._say(f"  {cell.label}: step {log.step}/{log.total_steps} loss "
                          f"{log.loss:.3f} err {100 * log.error:.1f}% "
                          f"{log.images_per_s:,.0f} img/s ETA {duration(log.eta_s, '-')}",
                          final=not self.tty)

        def on_run_end(self, cell, result, message):
            if result is None:
                self._say(f"  {cell.label}: could not run: {message}")
                return
            self._say(f"  {cell.label}: {result.status} after {result.steps} steps, test err "
                      f"{percent(result.val_error, '-')}, {duration(cell.seconds, '-')}"
                      + (f" - {message}" if message and result.status != "finished" else ""))

    return Printer()


def backend_from_args(args):
    """The backend the flags ask for (ClusterUnavailable, one line, without Ray installed)."""
    from resnet_studio.core.experiments.backends import ClusterOptions, make_backend

    if args.backend != "ray":
        given = [flag for flag, value in (("--address", args.address),
                                          ("--gpus-per-run", args.gpus_per_run),
                                          ("--cpus-per-run", args.cpus_per_run != 1.0),
                                          ("--storage", args.storage),
                                          ("--max-retries", args.max_retries != 3)) if value]
        if given:
            raise ValueError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} "
                             "only with --backend ray")
        return make_backend(None)
    return make_backend(ClusterOptions(
        address=args.address, gpus_per_run=args.gpus_per_run, cpus_per_run=args.cpus_per_run,
        storage=args.storage, max_retries=args.max_retries))


def run(args) -> int:
    from resnet_studio.app.experiments import describe_experiment, experiments_json
    from resnet_studio.app.runs import remove_interrupted_writes
    from resnet_studio.commands._common import stop_on_ctrl_c, stopped_exit_code
    from resnet_studio.core.common.budget import memory_checks
    from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore

    if args.threads is not None and args.threads < 1:
        raise ValueError("--threads must be at least 1")
    if args.csv == "-" and args.json:
        raise ValueError("--csv - and --json both print to standard output; choose one")
    backend = None if args.list or args.show else backend_from_args(args)
    if args.backend == "ray" and backend is not None:
        backend.connect()  # an unreachable cluster is refused before an experiment is stored
    with ExperimentStore() as store:
        if store.notice and (args.list or args.show or not store.read_only):
            print(store.notice, file=sys.stderr)  # moved aside, or read-only but only read
        if args.list:
            exps = store.list()
            if args.json:
                print(experiments_json(exps))
            elif not exps:
                print("no experiments yet (run `resnet-studio sweep`)")
            for e in exps if not args.json else ():
                print(f"{e.id}  {describe_experiment(e)}")
            return 0
        if args.fig7 is not None:
            return _fig7(store, args)
        if args.show:
            _emit(store.results(args.show), args)
            return 0

        if args.resume:
            exp = store.get(args.resume)
            if any(getattr(args, k) for k in ("depths", "variants", "seeds", "dataset",
                                               "steps", "preset")):
                raise ValueError("--resume continues a stored experiment as it was set up; "
                                 "drop the grid and schedule flags")
        else:
            with memory_checks(not args.no_memory_check):
                exp = plan_from_args(args).create(store)
        remove_interrupted_writes()
        print(f"experiment {exp.id}: {len(exp.missing())} run(s) to do", file=sys.stderr)
        if args.backend == "ray":
            print(f"on {backend.options.describe()}; checkpoints in {backend.storage}",
                  file=sys.stderr)
            if not exp.config.checkpoint_every:
                print("note: without --checkpoint-every a run whose worker dies starts over",
                      file=sys.stderr)
        runner = ExperimentRunner(store, exp.id, concurrency=args.concurrency, backend=backend,
                                  listener=make_listener(sys.stderr, args.quiet,
                                                         len(exp.missing())),
                                  download=not args.offline)
        again = f"resnet-studio sweep --resume {exp.id}" + (" --backend ray"
                                                            if args.backend == "ray" else "")
        with stop_on_ctrl_c(runner.stop, "stopping: the running run writes a checkpoint; "
                            f"`{again}` finishes the rest") \
                as signals:
            final = runner.run()
        _emit(store.results(final), args)
        if not args.json and args.csv != "-":
            print(f"experiment {final.id} ({final.status}) - open it in the Depth Lab, or "
                  f"`resnet-studio sweep --show {final.id}`")
        if signals:
            return stopped_exit_code(signals)
        return 0 if final.status == "finished" else 1


def _fig7(store, args) -> int:
    from resnet_studio.app.responses import (
        experiment_responses,
        responses_json,
        responses_text,
        write_responses,
    )

    if not args.show:
        raise ValueError("--fig7 measures a stored experiment: give it with --show ID")
    profiles = experiment_responses(args.show, store=store, download=not args.offline)
    if args.fig7:
        print(f"wrote {write_responses(profiles, args.fig7)}", file=sys.stderr)
    print(responses_json(profiles) if args.json else responses_text(profiles))
    return 0


def _emit(results, args) -> None:
    from resnet_studio.app.experiments import results_json, results_text, write_results_csv

    if args.csv:
        write_results_csv(results, args.csv)
        if args.csv == "-":
            return
        print(f"wrote {args.csv}", file=sys.stderr)
    print(results_json(results) if args.json else results_text(results))
