"""`resnet-studio train MODEL`: train headless. A one-line progress bar on stderr, a final
JSON line (with --json) or a short summary on stdout. Ctrl+C stops cleanly with a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
import time

from resnet_studio.commands._common import stop_on_ctrl_c, stopped_exit_code
from resnet_studio.core.common.formatting import duration


def add_parser(sub) -> None:
    from resnet_studio.core.training.config import PRESETS

    p = sub.add_parser(
        "train", help="train a model (progress on stderr; --json prints the result on stdout)",
        description="Train MODEL on a dataset. Settings start from --preset (default quick_cpu) "
        "and are overridden by the flags you give.")
    p.add_argument("model", nargs="?",
                   help="a preset name (see `models`) or a spec .json file; omit with --resume")
    p.add_argument("--plain", action="store_true", help="the plain twin (shortcuts removed)")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="training recipe to start from (default quick_cpu)")
    p.add_argument("--config", metavar="FILE", help="a TrainConfig .json to start from")
    p.add_argument("--dataset", help="synthetic[:opts] | cifar10 | cifar100 | mnist | "
                   "fashionmnist | imagefolder:PATH")
    p.add_argument("--steps", type=int, help="optimiser steps (iterations)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--optimizer", choices=["sgd", "adamw"])
    p.add_argument("--momentum", type=float)
    p.add_argument("--nesterov", action="store_true", default=None)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=["multistep", "cosine", "constant"])
    p.add_argument("--milestones", help="multistep: fractions of the run, e.g. 0.5,0.75")
    p.add_argument("--warmup-steps", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (bfloat16 where supported; default: on for GPUs that "
                   "support it)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="NHWC memory layout (default: on for GPUs; on the CPU measured once per "
                   "model family on this machine)")
    p.add_argument("--threads", type=int,
                   help="CPU threads for the run (default: measured with the memory layout)")
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile")
    p.add_argument("--eval-every", type=int, help="steps between validations (0: at the end)")
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    p.add_argument("--log-every", type=int, help="steps between progress updates")
    p.add_argument("--val-fraction", type=float)
    p.add_argument("--image-size", type=int, help="resize images to this square side")
    p.add_argument("--no-augment", dest="augment", action="store_false", default=None)
    p.add_argument("--resume", metavar="CKPT", help="continue a run from its checkpoint "
                   "(run folder or checkpoint.json)")
    p.add_argument("--name", help="a name for the run in `runs`")
    p.add_argument("--offline", action="store_true", help="never download datasets")
    p.add_argument("--no-store", action="store_true", help="do not record the run in `runs`")
    p.add_argument("--no-memory-check", action="store_true",
                   help="train even when the estimated memory (model, batch, dataset) exceeds "
                   "what this machine has available")
    p.add_argument("--json", action="store_true", help="print the final result as one JSON line")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    scale = p.add_argument_group(
        "several processes (torchrun)", "one model trained by N processes: one per GPU "
        "(NCCL), or sharing the CPU cores (gloo); --batch-size is the global batch, split "
        "across them; rank 0 writes the checkpoints and the run history")
    scale.add_argument("--nproc", type=int, default=1, metavar="N", help="processes on this computer")
    scale.add_argument("--nnodes", type=int, default=1, metavar="N", help="computers taking part")
    scale.add_argument("--node-rank", type=int, metavar="I", help="this computer's number, 0 .. nnodes-1")
    scale.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                       help="where the computers meet (node 0's address)")
    scale.add_argument("--rdzv-id", metavar="ID", help="a name for the job, the same on every computer")
    scale.add_argument("--rdzv-backend", metavar="NAME", help="c10d | static (default) | etcd | etcd-v2")
    p.add_argument("--distributed-worker", metavar="REQUEST", help=argparse.SUPPRESS)


_FLAG_FIELDS = ("dataset", "steps", "batch_size", "lr", "optimizer", "momentum", "nesterov",
                "weight_decay", "schedule", "warmup_steps", "seed", "device", "amp",
                "channels_last", "threads", "compile", "eval_every", "checkpoint_every", "log_every",
                "val_fraction", "image_size", "augment")


def build_config(args):
    """The TrainConfig the flags describe: --config or --preset, then each flag given."""
    from resnet_studio.core.training.config import TrainConfig, get_preset

    if args.config:
        if args.preset:
            raise ValueError("give either --config or --preset, not both")
        config = TrainConfig.load(args.config)
    else:
        config = get_preset(args.preset or "quick_cpu")
    changes = {f: getattr(args, f) for f in _FLAG_FIELDS if getattr(args, f) is not None}
    if args.milestones:
        try:
            changes["milestones"] = tuple(float(v) for v in args.milestones.split(","))
        except ValueError:
            raise ValueError(f"--milestones must be fractions like 0.5,0.75, got "
                             f"'{args.milestones}'") from None
    return config.replace(**changes).validate()


def build_request(args):
    """The TrainRequest the command line describes."""
    from resnet_studio.app.models import load_spec
    from resnet_studio.app.training import TrainRequest
    from resnet_studio.core.training.resume import RESUME_OVERRIDES

    common = dict(name=args.name, record=not args.no_store, download=not args.offline,
                  memory_check=not args.no_memory_check)
    if args.resume:
        if args.model:
            raise ValueError("give either MODEL or --resume CKPT (the checkpoint knows its "
                             "model)")
        overrides = {k: getattr(args, k) for k in RESUME_OVERRIDES}
        return TrainRequest(resume_from=args.resume, resume_overrides=overrides, **common)
    if not args.model:
        raise ValueError("name a MODEL (e.g. resnet20; see `resnet-studio models`) or "
                         "--resume CKPT")
    return TrainRequest(spec=load_spec(args.model, args.plain), config=build_config(args),
                        **common)


def make_progress(stream, quiet: bool):
    from resnet_studio.core.training.callbacks import Callback

    class ProgressBar(Callback):
        """One line on stderr, redrawn in place on a terminal; every ~5% otherwise."""

        def __init__(self):
            self.tty = hasattr(stream, "isatty") and stream.isatty()
            self.last_print = 0.0
            self.val = ""
            self.open_line = False
            self.bucket = -1

        def _emit(self, text: str, final: bool = False) -> None:
            if quiet:
                return
            if self.tty:
                stream.write("\r" + text.ljust(100)[:120] + ("\n" if final else ""))
                self.open_line = not final
            else:
                stream.write(text + "\n")
            stream.flush()

        def on_data_progress(self, trainer, done, total, message):
            if not self.tty and time.monotonic() - self.last_print < 5 and done != total:
                return
            self.last_print = time.monotonic()
            pct = f" {100 * done / total:.0f}% ({done / 1e6:.1f}/{total / 1e6:.1f} MB)" \
                if total and "download" in message else (f" {done}/{total}" if total else "")
            self._emit(f"{message}{pct}", final=not self.tty)

        def on_train_start(self, trainer):
            from resnet_studio.core.training.runtime import describe_device

            if self.open_line:
                self._emit("", final=True)
            resumed = f", resumed at step {trainer.step}" if trainer.resumed else ""
            self._emit(f"training {trainer.spec.name} on {trainer.data.info.name} "
                       f"({trainer.config.steps} steps, batch {trainer.config.batch_size}, "
                       f"{describe_device(trainer.device)}{resumed}; "
                       f"{trainer.speed.describe()}); run {trainer.run_id}",
                       final=True)
            for w in trainer.warnings:
                self._emit(f"warning: {w}", final=True)

        def on_log(self, trainer, log):
            width = 20
            done = int(width * log.step / max(1, log.total_steps))
            bar = "=" * done + (">" if done < width else "") + " " * (width - done - 1)
            text = (f"step {log.step}/{log.total_steps} [{bar}] loss {log.loss:.4f} "
                    f"err {100 * log.error:.1f}%{self.val} {log.images_per_s:,.0f} img/s "
                    f"ETA {duration(log.eta_s)}")
            if self.tty:
                self._emit(text)
            else:  # a log file: a line every 5% (and at the end)
                bucket = 20 * log.step // max(1, log.total_steps)
                if bucket != self.bucket or log.step == log.total_steps:
                    self.bucket = bucket
                    self._emit(text)

        def on_validation_end(self, trainer, result):
            self.val = f" | val loss {result.loss:.4f} err {100 * result.error:.1f}%"

        def on_status(self, trainer, status, message):
            if status == "paused":
                self._emit(f"paused at step {trainer.step}", final=True)

        def on_train_end(self, trainer, result):
            if self.open_line:
                self._emit("", final=True)
                self.open_line = False

    return ProgressBar()


def launch_settings(args):
    from resnet_studio.app.distributed import LaunchSettings

    launch = LaunchSettings(nproc=args.nproc, nnodes=args.nnodes, node_rank=args.node_rank,
                            rdzv_endpoint=args.rdzv_endpoint, rdzv_id=args.rdzv_id,
                            rdzv_backend=args.rdzv_backend)
    launch.check()
    return launch


def run_launcher(args, launch) -> int:
    """torchrun and its workers; this process waits, and passes a stop on."""
    from resnet_studio.app.distributed import DistributedTraining

    flags = tuple(f for f, on in (("--json", args.json), ("--quiet", args.quiet)) if on)
    training = DistributedTraining.prepare(build_request(args), launch, worker_flags=flags)
    with stop_on_ctrl_c(training.stop, "stopping every process after this step and writing "
                        "a checkpoint") as signals:
        training.start()
        code = training.wait()
    if signals:
        return stopped_exit_code(signals)
    if code:
        print(f"resnet-studio train: a training process failed (torchrun exit code {code}); "
              "its message is above", file=sys.stderr)
        return 1
    return 0


def run(args) -> int:
    from resnet_studio.app.training import TrainingRun, result_lines

    if args.distributed_worker:
        from resnet_studio.app.distributed import read_request

        request = read_request(args.distributed_worker)
    else:
        launch = launch_settings(args)
        if launch.launches:
            return run_launcher(args, launch)
        request = build_request(args)
    training = TrainingRun.build(request, [make_progress(sys.stderr, args.quiet)])
    if not training.main:  # another rank: rank 0 reports the run
        with stop_on_ctrl_c(training.stop, "") as signals:
            result = training.run()
        return _exit_code(result, signals, report=False)
    if training.store is not None and training.store.notice:  # a damaged store moved aside
        print(training.store.notice, file=sys.stderr)
    # a worker's stop is said once, by the launcher
    said = "" if args.distributed_worker else "stopping after this step and writing a checkpoint"
    with stop_on_ctrl_c(training.stop, said) as signals:
        result = training.run()
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print("\n".join(result_lines(result)))
    return _exit_code(result, signals, report=True)


def _exit_code(result, signals, *, report: bool) -> int:
    if result.status in ("diverged", "failed"):
        if report:
            print(f"resnet-studio train: {result.message}", file=sys.stderr)
        return 1
    if result.status == "stopped" and signals:
        return stopped_exit_code(signals)
    return 0
