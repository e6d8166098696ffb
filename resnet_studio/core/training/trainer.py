"""Trainer: a small training loop with named hooks, cooperative pause/resume/stop, and exact
resume from checkpoints.

Designed to be driven from a worker thread (the GUI's QThread) or from the CLI:

    trainer = Trainer(spec, config, callbacks=[MyCallback()], store=RunStore())
    result = trainer.fit()          # blocks; returns a TrainResult
    trainer.pause(); trainer.resume(); trainer.stop()   # from any thread

Numbers stay on the device: loss and correct counts are summed there and fetched once every
`config.log_every` steps (the only host sync in the loop, besides validation and checkpoints).
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from resnet_studio.core.data import DatasetError, ImageData, TensorBatches, load_dataset
from resnet_studio.core.spec import ArchSpec
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
    restore_rng,
    save_checkpoint,
)
from resnet_studio.core.training.config import ConfigError, TrainConfig
from resnet_studio.core.training.schedules import lr_at

# Settings that may change when a run is resumed; everything else must match the checkpoint.
RESUME_OVERRIDES = ("steps", "device", "amp", "compile", "channels_last", "eval_every",
                    "checkpoint_every", "log_every")


class Diverged(RuntimeError):
    pass


def resolve_device(name: str = "auto") -> torch.device:
    """auto: CUDA, then Apple MPS, then the CPU. An unavailable explicit choice is an error."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise ConfigError("device", "CUDA is not available on this computer (use auto or cpu)")
    if name == "mps" and not mps:
        raise ConfigError("device", "Apple MPS is not available on this computer (use auto or "
                          "cpu)")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError("device", f"unknown device '{name}'")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=(config.momentum or 0.9, 0.999),
                                 weight_decay=config.weight_decay)
    raise ConfigError("optimizer", f"unknown optimizer '{config.optimizer}'")


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and "out of memory" in text


class Trainer:
    """Trains one ArchSpec on one dataset under one TrainConfig.

    The spec's in_channels and num_classes are adapted to the dataset (1-channel MNIST works
    with any preset). `resume_from` continues a checkpointed run exactly: the same batches, the
    same optimizer state, the same metric history.
    """

    def __init__(self, spec: ArchSpec, config: TrainConfig, *,
                 callbacks: list[Callback] | tuple[Callback, ...] = (),
                 store: Any | None = None, run_name: str | None = None,
                 experiment_id: str | None = None, run_dir: str | Path | None = None,
                 resume_from: str | Path | None = None, data: ImageData | None = None,
                 download: bool = True):
        self.spec = spec
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
            self._check_resumable(ArchSpec.from_dict(self._resume_meta["spec"]),
                                  TrainConfig.from_dict(self._resume_meta["config"]),
                                  int(self._resume_meta["step"]))
            self.run_id = self._resume_meta["run_id"]
            self.run_dir = Path(run_dir) if run_dir else self.resume_from.parent
            self.step = self._start_step = int(self._resume_meta["step"])
        else:
            from resnet_studio.core.training.store import new_run_id

            self.run_id = new_run_id()
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
        self.loss_fn = F.cross_entropy
        self._forward = None
        self._scaler = None
        self._amp_dtype: torch.dtype | None = None
        self._elapsed_before = 0.0
        self._images_before = 0  # images seen before this session (resumed runs)
        self._train_time = 0.0  # this session's training time (no pauses, no validation)
        self._images = 0  # this session's images
        self._window: dict[str, Any] = {}
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
        overrides = {k: v for k, v in overrides.items() if v is not None}
        meta = read_checkpoint_meta(path)
        config = replace(TrainConfig.from_dict(meta["config"]), **overrides)
        return cls(ArchSpec.from_dict(meta["spec"]), config, resume_from=path, **kwargs)

    def _check_resumable(self, spec: ArchSpec, config: TrainConfig, step: int) -> None:
        if spec.to_dict() != self.spec.to_dict():
            # the dataset may have adapted in/out channels; compare the architecture itself
            a = replace(spec, in_channels=0, num_classes=0, notes="")
            b = replace(self.spec, in_channels=0, num_classes=0, notes="")
            if a != b:
                raise ConfigError("resume", f"the checkpoint is for {spec.name}, not "
                                  f"{self.spec.name}")
        old = {k: v for k, v in config.to_dict().items() if k not in RESUME_OVERRIDES}
        new = {k: v for k, v in self.config.to_dict().items() if k not in RESUME_OVERRIDES}
        diff = sorted(k for k in old if old[k] != new.get(k))
        if diff:
            raise ConfigError("resume", "the checkpoint was trained with different settings: "
                              + ", ".join(f"{k} {old[k]!r} -> {new.get(k)!r}" for k in diff))
        if step > self.config.steps:
            raise ConfigError("steps", f"the checkpoint is already at step {step}")

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
        self.device = resolve_device(cfg.device)
        data = self._given_data
        if data is None:
            progress = lambda done, total, msg: self.callbacks.on_data_progress(self, done,
                                                                                total, msg)
            data = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction,
                                image_size=cfg.image_size or None, download=self.download,
                                progress=progress)
        info = data.info
        from resnet_studio.core.zoo import with_io

        spec = with_io(self.spec, in_channels=info.in_channels, num_classes=info.num_classes)
        spec.validate()
        if info.image_size < spec.min_input_side:
            raise DatasetError(
                f"{spec.name} needs images of at least {spec.min_input_side}x"
                f"{spec.min_input_side} pixels; {info.name} has {info.image_size}x"
                f"{info.image_size} (set image_size / --image-size {spec.min_input_side})")
        self.spec = spec

        from resnet_studio.core.models import build_model

        torch.manual_seed(cfg.seed)
        model = build_model(spec).to(self.device)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.data = data.to(self.device)
        self.batches = TensorBatches(self.data, cfg.batch_size, seed=cfg.seed,
                                     augment=cfg.augment, channels_last=cfg.channels_last)
        self.optimizer = make_optimizer(model, cfg)
        self._setup_amp()
        self._window = self._empty_window(self.step)
        if self.resume_from is not None:
            self._restore(load_checkpoint(self.resume_from))
        self._forward = model
        if cfg.compile:
            try:
                self._forward = torch.compile(model)
            except Exception as e:  # no compiler toolchain, unsupported platform
                self.warnings.append(f"torch.compile unavailable ({e}); running eagerly")
        self._ready = True

    def _setup_amp(self) -> None:
        self._amp_dtype = None
        self._scaler = None
        if not self.config.amp:
            return
        dev = self.device.type
        if dev == "cuda":
            if torch.cuda.is_bf16_supported():
                self._amp_dtype = torch.bfloat16
            else:  # older GPUs: float16 needs loss scaling
                self._amp_dtype = torch.float16
                self._scaler = torch.amp.GradScaler("cuda")
        elif dev in ("cpu", "mps"):
            self._amp_dtype = torch.bfloat16
        try:
            with torch.autocast(dev, dtype=self._amp_dtype):
                pass
        except (RuntimeError, ValueError) as e:
            self.warnings.append(f"mixed precision unavailable on {dev} ({e})")
            self._amp_dtype = None
            self._scaler = None

    def _autocast(self):
        if self._amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self._amp_dtype)

    def _empty_window(self, start_step: int) -> dict[str, Any]:
        z = lambda: torch.zeros((), dtype=torch.float32, device=self.device)
        return {"loss": z(), "correct": z(), "count": 0, "start": start_step}

    def _restore(self, ckpt) -> None:
        missing = self.model.load_state_dict(ckpt.model_state, strict=True)
        del missing
        if ckpt.optimizer_state is not None:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        restore_rng(ckpt.rng)
        st = ckpt.trainer_state
        self.step = ckpt.step
        self.history = {k: [(int(s), v) for s, v in pts] for k, pts in ckpt.metrics.items()}
        self._elapsed_before = float(st.get("elapsed_s", 0.0))
        self._images_before = int(st.get("images", 0))
        w = st.get("window") or {}
        self._window = self._empty_window(int(w.get("start", self.step)))
        self._window["loss"].fill_(float(w.get("loss", 0.0)))
        self._window["correct"].fill_(float(w.get("correct", 0.0)))
        self._window["count"] = int(w.get("count", 0))
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
                if not _is_oom(e):
                    raise
                message = (f"out of memory on {describe_device(self.device)} while loading "
                           f"the data and the model; try a smaller model or image size")
                self._release_memory()
                self.callbacks.on_exception(self, e, message)
                return self._finish("failed", message)
            return self._fit()
        finally:
            with self._cond:
                self._running = False

    def _fit(self) -> TrainResult:
        self._session_start = time.perf_counter()
        self._train_time = 0.0
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
            if _is_oom(e):
                status, message = "failed", self._oom_message(e)
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
        log, ev = self.last_log, self.last_eval
        seconds = self.elapsed()
        return TrainResult(
            run_id=self.run_id, status=self.status, steps=self.step,
            total_steps=self.config.steps, seconds=round(seconds, 3),
            images_per_s=round(self._images / self._train_time, 1) if self._train_time else 0.0,
            train_loss=log.loss if log else None, train_error=log.error if log else None,
            val_loss=ev.loss if ev else None, val_error=ev.error if ev else None,
            checkpoint=self.last_checkpoint, message=self.message)

    def elapsed(self) -> float:
        return self._elapsed_before + self._train_time

    def _set_status(self, status: str, message: str = "") -> None:
        self.status = status
        self.callbacks.on_status(self, status, message)

    def _loop(self) -> None:
        cfg = self.config
        model, opt, batches = self.model, self.optimizer, self.batches
        B = cfg.batch_size
        model.train()
        t0 = time.perf_counter()
        window_images = 0
        window_time = 0.0
        while self.step < cfg.steps:
            if self._stop_requested:
                break
            if self._pause_requested:
                window_time += time.perf_counter() - t0
                self._wait_while_paused()
                t0 = time.perf_counter()
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
            with torch.no_grad():
                w = self._window
                w["loss"] += loss.detach() * B
                w["correct"] += (out.detach().argmax(1) == y).sum()
                w["count"] += B
            self.step = s + 1
            window_images += B
            self.callbacks.on_train_batch_end(self, self.step)

            step = self.step
            last = step >= cfg.steps
            if step % cfg.log_every == 0 or last:
                window_time += time.perf_counter() - t0
                self._log(lr, window_images, window_time)
                window_images, window_time = 0, 0.0
                t0 = time.perf_counter()
            if (cfg.eval_every and step % cfg.eval_every == 0) or last:
                window_time += time.perf_counter() - t0
                self.evaluate()
                t0 = time.perf_counter()
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and not last:
                window_time += time.perf_counter() - t0
                self._save("periodic")
                t0 = time.perf_counter()
        # time of a partial window still counts
        self._train_time += window_time + (time.perf_counter() - t0)
        self._images += window_images

    def _run_model(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return self._forward(x)
        except Exception as e:
            # torch.compile fails lazily (no C++ compiler, unsupported op): fall back to eager
            if self._forward is self.model or _is_oom(e):
                raise
            self.warnings.append(f"torch.compile failed ({type(e).__name__}: {e}); "
                                 "running eagerly")
            self._forward = self.model
            return self._forward(x)

    def _wait_while_paused(self) -> None:
        self._set_status("paused")
        with self._cond:
            while self._pause_requested and not self._stop_requested:
                self._cond.wait(timeout=0.5)
        if not self._stop_requested:
            self._set_status("running")

    def _log(self, lr: float, window_images: int, window_time: float) -> None:
        """The once-every-log_every-steps sync: fetch the window's sums from the device."""
        w = self._window
        loss_sum, correct = torch.stack([w["loss"], w["correct"]]).tolist()
        count = w["count"]
        step = self.step
        if not math.isfinite(loss_sum):
            raise Diverged(self._divergence_message(step))
        self._train_time += window_time
        self._images += window_images
        ips = window_images / window_time if window_time > 0 else 0.0
        per_step = self._train_time / max(1, step - self._first_step_of_session())
        eta = per_step * (self.config.steps - step)
        log = TrainLog(step=step, total_steps=self.config.steps,
                       epoch=round(step / self.batches.steps_per_epoch, 4),
                       loss=loss_sum / count, error=1.0 - correct / count, lr=lr,
                       images_per_s=round(ips, 1), elapsed_s=round(self.elapsed(), 3),
                       eta_s=round(eta, 1))
        self.last_log = log
        for name, value in (("train/loss", log.loss), ("train/error", log.error), ("lr", lr)):
            self.history.setdefault(name, []).append((step, value))
        self._window = self._empty_window(step)
        self.callbacks.on_log(self, log)

    def _first_step_of_session(self) -> int:
        return self._start_step

    def _divergence_message(self, step: int) -> str:
        lr = self.config.lr
        kept = (f"the last good checkpoint (step {self.last_checkpoint_step}) is kept at "
                f"{self.last_checkpoint}") if self.last_checkpoint else \
            "no checkpoint had been written yet"
        return (f"training diverged: the loss became NaN or infinite by step {step}. Try a "
                f"lower learning rate (now {lr:g}; e.g. {lr / 10:g}) or a warm-up; {kept}")

    def _oom_message(self, exc: BaseException) -> str:
        b = self.config.batch_size
        return (f"out of memory on {describe_device(self.device)} with batch size {b} "
                f"(step {self.step}). Try a smaller batch (e.g. {max(1, b // 2)}), mixed "
                "precision (amp), or a smaller model.")

    def _release_memory(self) -> None:
        self._window = {}
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
        model = self.model
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
        total, right = torch.stack([loss_sum, correct]).tolist()
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
        w = self._window
        loss_sum, correct = torch.stack([w["loss"], w["correct"]]).tolist()
        finite = math.isfinite(loss_sum) and all(
            bool(torch.isfinite(p).all()) for p in self.model.parameters())
        if not finite:
            raise Diverged(self._divergence_message(self.step))
        state = {
            "elapsed_s": self.elapsed(), "images": self._images_before + self._images,
            "window": {"loss": loss_sum, "correct": correct, "count": w["count"],
                       "start": w["start"]},
            "scaler": self._scaler.state_dict() if self._scaler is not None else None,
            "last_eval": self.last_eval.to_dict() if self.last_eval else None,
            "last_log": self.last_log.to_dict() if self.last_log else None,
        }
        path = save_checkpoint(
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


__all__ = ["Diverged", "Trainer", "describe_device", "make_optimizer", "resolve_device"]
