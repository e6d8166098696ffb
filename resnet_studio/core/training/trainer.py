"""Trainer: a small training loop with named hooks, cooperative pause/resume/stop, and exact
resume from checkpoints.

Driven from a worker thread (the GUI's QThread) or from the CLI: `Trainer(spec, config,
callbacks=[...], store=RunStore()).fit()` blocks and returns a TrainResult; `pause()`, `resume()`
and `stop()` may be called from any thread.

Numbers stay on the device: loss and correct counts are summed there and fetched once every
`config.log_every` steps (the only host sync in the loop, besides validation and checkpoints).
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from resnet_studio.core.data import ImageData, TensorBatches, load_dataset
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training import speed
from resnet_studio.core.training.callbacks import (
    Callback,
    CallbackList,
    CheckpointInfo,
    EvalResult,
    TrainLog,
    TrainResult,
)
from resnet_studio.core.training.checkpoint import (
    CheckpointError,
    find_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.distributed import Ranks, skip_checkpoint
from resnet_studio.core.training.meters import LogWindow, StepClock
from resnet_studio.core.training.resume import RESUME_OVERRIDES, check_resumable, resumed_config
from resnet_studio.core.training.runtime import (
    compiled,
    describe_device,
    divergence_message,
    fit_spec_to_data,
    is_out_of_memory,
    mixed_precision,
    out_of_memory_message,
    resolve_device,
)
from resnet_studio.core.training.schedules import lr_at, make_optimizer


class Diverged(RuntimeError):
    """The loss or the weights became NaN or infinite."""


class Trainer:
    """Trains one ArchSpec on one dataset under one TrainConfig.

    The spec's in_channels and num_classes are adapted to the dataset (1-channel MNIST works
    with any preset). `resume_from` continues a checkpointed run exactly: the same batches, the
    same optimizer state, the same metric history; `distributed`: one of several processes.
    """

    def __init__(self, spec: ArchSpec, config: TrainConfig, *,
                 callbacks: list[Callback] | tuple[Callback, ...] = (),
                 store: Any | None = None, run_name: str | None = None,
                 experiment_id: str | None = None, run_dir: str | Path | None = None,
                 resume_from: str | Path | None = None, data: ImageData | None = None,
                 download: bool = True, distributed: Ranks | None = None, run_id: str | None = None):
        self.spec, self.ranks = spec, distributed or Ranks()
        self.config = config.validate()
        self.callbacks = CallbackList(callbacks)
        self.download = download
        self.resume_from = Path(resume_from) if resume_from is not None else None
        self._given_data = data
        self._resume_meta: dict[str, Any] | None = None  # the sidecar only; tensors in setup()
        self._start_step = 0
        if self.resume_from is not None:
            self.resume_from = find_checkpoint(self.resume_from)
            self._resume_meta = read_checkpoint_meta(self.resume_from)
            check_resumable(ArchSpec.from_dict(self._resume_meta["spec"]),
                            TrainConfig.from_dict(self._resume_meta["config"]),
                            int(self._resume_meta["step"]), self.spec, self.config)
            self.run_id = self._resume_meta["run_id"]
            self.run_dir = Path(run_dir) if run_dir else self.resume_from.parent
            self.step = self._start_step = int(self._resume_meta["step"])
        else:
            from resnet_studio.core.training.store import new_run_id

            self.run_id = run_id or new_run_id()
            if run_dir is None:
                from resnet_studio.core.common.paths import runs_dir

                run_dir = runs_dir() / self.run_id
            self.run_dir = Path(run_dir)
        self.run_name = run_name or f"{spec.name} on {config.dataset}"
        if store is not None:
            from resnet_studio.core.training.recorder import RunRecorder

            self.callbacks.append(RunRecorder(store, name=run_name, experiment_id=experiment_id))

        # state the loop and the callbacks read
        self.step = self._start_step
        self.status = "created"
        self.message = ""
        self.history: dict[str, list[tuple[int, float]]] = {}
        self.last_log: TrainLog | None = None
        self.last_eval: EvalResult | None = None
        self.last_checkpoint: str | None = None
        self.last_checkpoint_step: int | None = None
        self.warnings: list[str] = []
        self.model: torch.nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.data: ImageData | None = None
        self.batches: TensorBatches | None = None
        self.device: torch.device | None = None
        self.speed: speed.SpeedSettings | None = None  # memory format, autocast, threads
        self.loss_fn = F.cross_entropy
        self._forward = self._eager = None
        self._scaler = None
        self._amp_dtype: torch.dtype | None = None
        self._elapsed_before = 0.0  # training time before this session (resumed runs)
        self._images_before = 0  # images seen before this session
        self._clock = StepClock()  # this session's training time and images
        self._window: LogWindow | None = None
        self._ready = False
        self._cond = threading.Condition()
        self._pause_requested = False
        self._stop_requested = False
        self._running = False

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs: Any) -> Trainer:
        """Continue a run: spec and config come from the checkpoint; `steps`, `device`, `amp`,
        `compile`, `channels_last`, `eval_every`, `checkpoint_every`, `log_every` may be
        overridden (note that multistep milestones are fractions of `steps`)."""
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in RESUME_OVERRIDES}
        meta = read_checkpoint_meta(path)
        config = resumed_config(meta["config"], **overrides)
        return cls(ArchSpec.from_dict(meta["spec"]), config, resume_from=path, **kwargs)

    # -- control (any thread) ------------------------------------------------------------------
    def pause(self) -> None:
        """Pause at the next step boundary (the status becomes "paused")."""
        with self._cond:
            self._pause_requested = True

    def resume(self) -> None:
        with self._cond:
            self._pause_requested = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop at the next step boundary, writing a checkpoint first (status "stopped")."""
        with self._cond:
            self._stop_requested = True
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self.status == "paused"

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def resumed(self) -> bool:
        return self._resume_meta is not None

    # -- setup -----------------------------------------------------------------------------------
    def setup(self) -> None:
        """Load the data, build the model and optimizer, restore a checkpoint. Idempotent; fit()
        calls it. Raises DatasetError / DatasetUnavailable / ConfigError / SpecError."""
        if self._ready:
            return
        cfg = self.config
        self.device = self.ranks.device(resolve_device(cfg.device))
        data = self._given_data
        if data is None:
            progress = lambda done, total, msg: self.callbacks.on_data_progress(self, done,
                                                                                total, msg)
            data = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction,
                                image_size=cfg.image_size or None, download=self.download,
                                progress=progress)
        self.spec = spec = fit_spec_to_data(self.spec, data.info)
        from resnet_studio.core.models import build_model

        torch.manual_seed(cfg.seed)
        info = data.info
        self.speed = fast = speed.choose(  # what the config leaves on auto
            spec, cfg, self.device, (info.in_channels, info.image_size, info.image_size),
            status=lambda text: self.callbacks.on_data_progress(self, 0, 0, text))
        model = build_model(spec).to(self.device)
        if fast.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model, self.data = model, data.to(self.device)
        self.batches = TensorBatches(self.data, cfg.batch_size, seed=cfg.seed, augment=cfg.augment,
                                     channels_last=fast.channels_last, shard=self.ranks.shard)
        self.optimizer = make_optimizer(model, cfg)
        self._amp_dtype, self._scaler, amp_warning = mixed_precision(self.device, fast.amp)
        self._window = self.ranks.window(self.device, self.step)
        if self.resume_from is not None:
            self._restore(load_checkpoint(self.resume_from))
        self._eager = self.ranks.wrap(model)  # after the restore: DDP copies rank 0's weights
        self._forward, compile_warning = compiled(self._eager, cfg.compile)
        self.warnings += [w for w in (amp_warning, compile_warning) if w]
        self._ready = True

    def _autocast(self):
        if self._amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self._amp_dtype)

    def _restore(self, ckpt) -> None:
        from resnet_studio.core.training.resume import restore_state

        restore_state(ckpt, self.model, self.optimizer)  # each tensor checked first
        st = ckpt.trainer_state
        self.step = ckpt.step
        self.history = {k: [(int(s), v) for s, v in pts] for k, pts in ckpt.metrics.items()}
        self._elapsed_before = float(st.get("elapsed_s", 0.0))
        self._images_before = int(st.get("images", 0))
        self._window = self.ranks.restored_window(self.device, st.get("window"), self.step)
        if st.get("scaler") and self._scaler is not None:
            self._scaler.load_state_dict(st["scaler"])
        if st.get("last_eval"):
            self.last_eval = EvalResult(**st["last_eval"])
        if st.get("last_log"):
            self.last_log = TrainLog(**st["last_log"])
        self.last_checkpoint = str(ckpt.path)
        self.last_checkpoint_step = ckpt.step

    # -- the loop ------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train until `config.steps`, a stop() or a failure. Setup errors (bad dataset, missing
        files, impossible spec) raise before anything starts; a divergence, out-of-memory or
        unwritable checkpoint ends the run with a TrainResult whose status says so. Any other
        exception is reported through the hooks and re-raised."""
        with self._cond:
            if self._running:
                raise RuntimeError("this trainer is already running")
            self._running = True
        try:
            try:
                self.setup()
            except BaseException as e:
                if not is_out_of_memory(e):
                    raise
                message = out_of_memory_message(self.device, self.config.batch_size, None)
                self._release_memory()
                self.callbacks.on_exception(self, e, message)
                return self._finish("failed", message)
            with speed.threads_for_run(self.speed.threads):
                return self._fit()
        finally:
            with self._cond:
                self._running = False

    def _fit(self) -> TrainResult:
        self._clock = StepClock()
        self.callbacks.on_train_start(self)
        self._set_status("running")
        try:
            self._loop()
            if self.step >= self.config.steps:
                self._save("end")
                status, message = "finished", ""
            else:
                self._save("stop")
                status, message = "stopped", f"stopped at step {self.step}; resume from " \
                    f"{self.last_checkpoint}"
        except Diverged as e:
            status, message = "diverged", str(e)
            self.callbacks.on_exception(self, e, message)
        except CheckpointError as e:
            status, message = "failed", str(e.strerror or e)
            self.callbacks.on_exception(self, e, message)
        except BaseException as e:
            if is_out_of_memory(e):
                status, message = "failed", out_of_memory_message(
                    self.device, self.config.batch_size, self.step)
                self._release_memory()
                self.callbacks.on_exception(self, e, message)
            else:
                if isinstance(e, KeyboardInterrupt):
                    status = "interrupted"
                    message = "interrupted; resume from the last checkpoint" + (
                        f" (step {self.last_checkpoint_step})" if self.last_checkpoint else "")
                else:
                    status, message = "failed", f"{type(e).__name__}: {e}"
                self.callbacks.on_exception(self, e, message)
                self._finish(status, message)
                raise
        return self._finish(status, message)

    def _finish(self, status: str, message: str) -> TrainResult:
        self.message = message
        self._set_status(status, message)
        result = self.result()
        self.callbacks.on_train_end(self, result)
        return result

    def result(self) -> TrainResult:
        log, ev, clock = self.last_log, self.last_eval, self._clock
        return TrainResult(
            run_id=self.run_id, status=self.status, steps=self.step,
            total_steps=self.config.steps, seconds=round(self.elapsed(), 3),
            images_per_s=round(clock.images / clock.seconds, 1) if clock.seconds else 0.0,
            train_loss=log.loss if log else None, train_error=log.error if log else None,
            val_loss=ev.loss if ev else None, val_error=ev.error if ev else None,
            checkpoint=self.last_checkpoint, message=self.message, model=self.spec.name,
            dataset=self.config.dataset, device=describe_device(self.device))

    def elapsed(self) -> float:
        """Training time of the run so far (earlier sessions included; no pauses)."""
        return self._elapsed_before + self._clock.seconds

    def _set_status(self, status: str, message: str = "") -> None:
        self.status = status
        self.callbacks.on_status(self, status, message)

    def _loop(self) -> None:
        cfg, clock = self.config, self._clock
        model, opt, batches = self.model, self.optimizer, self.batches
        model.train()
        clock.start()
        while self.step < cfg.steps:
            if self.ranks.stop_agreed(self._stop_requested):
                break
            if self._pause_requested:
                with clock.stopped():
                    self._wait_while_paused()
                continue
            s = self.step
            lr = lr_at(s, cfg)
            for group in opt.param_groups:
                group["lr"] = lr
            x, y = batches.batch(s)
            with self._autocast():
                out = self._run_model(x)
            loss = self.loss_fn(out.float(), y)
            opt.zero_grad(set_to_none=True)
            if self._scaler is not None:
                self._scaler.scale(loss).backward()
            else:
                loss.backward()
            self.callbacks.on_after_backward(self, s + 1)
            if self._scaler is not None:
                self._scaler.step(opt)
                self._scaler.update()
            else:
                opt.step()
            self._window.add(loss, out, y)
            self.step = step = s + 1
            clock.count(len(y) * self.ranks.world)
            self.callbacks.on_train_batch_end(self, step)

            last = step >= cfg.steps
            with clock.stopped():
                if step % cfg.log_every == 0 or last:
                    self._log(lr)
                if (cfg.eval_every and step % cfg.eval_every == 0) or last:
                    self.evaluate()
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and not last:
                    self._save("periodic")
        clock.stop()
        clock.lap()  # the time of a partial window still counts

    def _run_model(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return self._forward(x)
        except Exception as e:
            # torch.compile fails lazily (no C++ compiler, unsupported op): fall back to eager
            if self._forward is self._eager or is_out_of_memory(e):
                raise
            self.warnings.append(f"torch.compile failed ({type(e).__name__}: {e}); "
                                 "running eagerly")
            self._forward = self._eager
            return self._forward(x)

    def _wait_while_paused(self) -> None:
        self._set_status("paused")
        with self._cond:
            while self._pause_requested and not self._stop_requested:
                self._cond.wait(timeout=0.5)
        if not self._stop_requested:
            self._set_status("running")

    def _log(self, lr: float) -> None:
        """The once-every-log_every-steps sync: fetch the window's sums from the device."""
        loss_sum, correct = self._window.totals()
        count, step = self._window.count, self.step
        if not math.isfinite(loss_sum):
            raise Diverged(self._divergence_message(step))
        images, seconds = self._clock.lap()
        per_step = self._clock.seconds / max(1, step - self._start_step)
        log = TrainLog(step=step, total_steps=self.config.steps,
                       epoch=round(step / self.batches.steps_per_epoch, 4),
                       loss=loss_sum / count, error=1.0 - correct / count, lr=lr,
                       images_per_s=round(images / seconds if seconds > 0 else 0.0, 1),
                       elapsed_s=round(self.elapsed(), 3),
                       eta_s=round(per_step * (self.config.steps - step), 1))
        self.last_log = log
        for name, value in (("train/loss", log.loss), ("train/error", log.error), ("lr", lr)):
            self.history.setdefault(name, []).append((step, value))
        self._window = self.ranks.window(self.device, step)
        self.callbacks.on_log(self, log)

    def _divergence_message(self, step: int) -> str:
        return divergence_message(step, self.config.lr, self.last_checkpoint,
                                  self.last_checkpoint_step)

    def _release_memory(self) -> None:
        self._window = None
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=True)
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.empty_cache()

    # -- validation --------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> EvalResult | None:
        """Loss and error on the held-out split (one host sync)."""
        if self.data is None or len(self.data.val_y) == 0:
            return None
        t = time.perf_counter()
        model = self.ranks.synced(self.model)
        model.eval()
        loss_sum = torch.zeros((), dtype=torch.float32, device=self.device)
        correct = torch.zeros((), dtype=torch.float32, device=self.device)
        n = 0
        try:
            for x, y in self.batches.eval_batches(max(256, 2 * self.config.batch_size)):
                with self._autocast():
                    out = self._run_model(x)
                loss_sum += F.cross_entropy(out.float(), y, reduction="sum")
                correct += (out.argmax(1) == y).sum()
                n += len(y)
        finally:
            model.train()
        total, right, n = self.ranks.sums(loss_sum, correct, n)
        result = EvalResult(step=self.step, loss=total / n if math.isfinite(total) else total,
                            error=1.0 - right / n, samples=n,
                            seconds=round(time.perf_counter() - t, 3))
        self.last_eval = result
        self.history.setdefault("val/loss", []).append((self.step, result.loss))
        self.history.setdefault("val/error", []).append((self.step, result.error))
        self.callbacks.on_validation_end(self, result)
        return result

    # -- checkpoints -----------------------------------------------------------------------------
    def _save(self, reason: str) -> str | None:
        if self.last_checkpoint_step == self.step and self.last_checkpoint:
            return self.last_checkpoint  # nothing changed since
        window = self._window.state()
        finite = math.isfinite(window["loss"]) and all(
            bool(torch.isfinite(p).all()) for p in self.model.parameters())
        if not finite:
            raise Diverged(self._divergence_message(self.step))
        state = {
            "elapsed_s": self.elapsed(), "images": self._images_before + self._clock.images,
            "window": window,
            "scaler": self._scaler.state_dict() if self._scaler is not None else None,
            "last_eval": self.last_eval.to_dict() if self.last_eval else None,
            "last_log": self.last_log.to_dict() if self.last_log else None,
        }
        path = (save_checkpoint if self.ranks.main else skip_checkpoint)(
            self.run_dir, step=self.step, run_id=self.run_id, spec=self.spec,
            config=self.config, model_state=self.model.state_dict(),
            optimizer_state=self.optimizer.state_dict(),
            scheduler={"type": self.config.schedule, "step": self.step,
                       "lr": lr_at(max(0, self.step - 1), self.config)},
            metrics={k: [list(p) for p in v] for k, v in self.history.items()},
            trainer_state=state, dataset=self.data.info.to_dict())
        self.last_checkpoint = str(path)
        self.last_checkpoint_step = self.step
        weights = path.parent / f"model-{self.step:08d}.safetensors"
        self.callbacks.on_checkpoint(self, CheckpointInfo(path=str(path), weights=str(weights),
                                                          step=self.step, reason=reason))
        return str(path)

    def save_checkpoint(self) -> str | None:
        """Write a checkpoint now (between steps; from the training thread or a hook)."""
        return self._save("manual")


# describe_device, make_optimizer, resolve_device: from runtime and schedules, kept importable here
__all__ = ["RESUME_OVERRIDES", "Diverged", "Trainer", "describe_device", "make_optimizer",
           "resolve_device"]
