"""How a run is made fast: what a config leaves on "auto" is chosen here.

- On a CUDA GPU: bfloat16 autocast where the GPU supports it, and channels_last memory (Tensor
  Cores read NHWC).
- On the CPU: the memory format and the number of threads, by measurement. The first time a
  model family (stem, block, widths, input and batch size) trains on this machine, a few steps of
  each candidate run on a shallow member of the family and the fastest is remembered in the
  user's data folder (`speed.json`, one entry per machine and torch version). Measured on a
  2-core CPU: channels_last trains ResNet-20 1.1-1.5x faster than NCHW, and on a busy machine
  one thread beats two by 5-10x for small nets; torch's defaults choose neither.

A setting given in the config (True/False, a thread count) is always used as given.
$RESNET_STUDIO_AUTOTUNE=0 turns the measurement off (torch's defaults, NCHW): the test suite
does, so that every run there is as deterministic and quick as the one before.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from resnet_studio.core.spec import ArchSpec

WARMUP_STEPS = 1
TIMED_STEPS = 3
ROUNDS = 2  # each candidate is timed twice, alternating, and keeps its best round


@dataclass(frozen=True)
class SpeedSettings:
    channels_last: bool
    amp: bool
    threads: int | None  # CPU intra-op threads for the run; None leaves torch's own
    how: str  # for people: "measured on this machine", "remembered", "GPU defaults", ...

    def describe(self) -> str:
        parts = ["channels_last" if self.channels_last else "NCHW"]
        if self.amp:
            parts.append("bf16 autocast")
        if self.threads:
            parts.append(f"{self.threads} thread{'s' if self.threads > 1 else ''}")
        return f"{', '.join(parts)} ({self.how})"


def autotune_enabled() -> bool:
    return os.environ.get("RESNET_STUDIO_AUTOTUNE", "1") not in ("0", "off", "false")


def choose(spec: ArchSpec, config, device: torch.device, input_shape: tuple[int, int, int],
           *, status=None) -> SpeedSettings:
    """The settings a run uses: the config's where given, the app's choice where not.
    `status(text)` is told when a measurement starts (it takes a few seconds, once)."""
    cl, amp, threads = config.channels_last, config.amp, config.threads or None
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        return SpeedSettings(True if cl is None else cl, bf16 if amp is None else amp, threads,
                             "GPU defaults" if cl is None or amp is None else "as configured")
    amp = bool(amp)
    if device.type != "cpu" or (cl is not None and threads is not None) or not autotune_enabled():
        return SpeedSettings(bool(cl), amp, threads, "as configured" if cl is not None
                             else "defaults")
    key = family_key(spec, input_shape, config.batch_size)
    cache = SpeedCache()
    best = cache.get(key)
    how = "remembered for this model family"
    if best is None:
        if status is not None:
            status("choosing the fastest CPU settings for this model family (once)…")
        best = measure_cpu(representative(spec), input_shape, config.batch_size)
        cache.put(key, best)
        how = "measured on this machine"
    return SpeedSettings(best["channels_last"] if cl is None else cl, amp,
                         best["threads"] if threads is None else threads, how)


@contextlib.contextmanager
def threads_for_run(threads: int | None) -> Iterator[None]:
    """torch's intra-op threads for the run, restored after (the setting is process-wide)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# -- the measurement -------------------------------------------------------------------------------

def representative(spec: ArchSpec) -> ArchSpec:
    """A shallow member of the family: at most two blocks a stage (the per-block cost is what
    the candidates differ in, and deep nets would make the measurement long)."""
    return replace(spec, layers=tuple(min(n, 2) for n in spec.layers))


def family_key(spec: ArchSpec, input_shape, batch_size: int) -> str:
    widths = "-".join(map(str, spec.widths))
    return (f"{spec.stem}/{spec.block}/{'preact' if spec.preact else 'post'}/g{spec.groups}x"
            f"{spec.width_per_group}/{widths}/{'x'.join(map(str, input_shape))}/b{batch_size}")


def thread_candidates() -> list[int]:
    most = torch.get_num_threads()
    return sorted({most, max(1, most // 2)} | ({1} if most <= 4 else set()))


def measure_cpu(spec: ArchSpec, input_shape, batch_size: int) -> dict:
    """Images/s of each (memory format, threads) candidate; the fastest as a dict."""
    from resnet_studio.core.models import build_model

    candidates = [(cl, t) for cl in (False, True) for t in thread_candidates()]
    best_s: dict[tuple, float] = {}
    before = torch.get_num_threads()
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(0)
        x = torch.randn(batch_size, *input_shape)
        y = torch.randint(0, spec.num_classes, (batch_size,))
        models = {cl: _prepared(build_model(spec), cl) for cl in (False, True)}
        for _ in range(ROUNDS):
            for cl, t in candidates:
                torch.set_num_threads(t)
                seconds = _time_steps(*models[cl], x, y, cl)
                best_s[(cl, t)] = min(best_s.get((cl, t), float("inf")), seconds)
    finally:
        torch.set_num_threads(before)
        torch.random.set_rng_state(state)
    (cl, t), seconds = min(best_s.items(), key=lambda kv: kv[1])
    return {"channels_last": cl, "threads": t,
            "images_per_s": round(TIMED_STEPS * batch_size / seconds, 1),
            "candidates": {f"{'channels_last' if c else 'nchw'}/{n}":
                           round(TIMED_STEPS * batch_size / s, 1) for (c, n), s in best_s.items()}}


def _prepared(model: nn.Module, channels_last: bool):
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.train(), torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def _time_steps(model, optimizer, x, y, channels_last: bool) -> float:
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS):
        step()
    start = time.perf_counter()
    for _ in range(TIMED_STEPS):
        step()
    return time.perf_counter() - start


# -- remembered per machine --------------------------------------------------------------------------

def machine_key() -> str:
    return f"{platform.node()}|{platform.machine()}|{os.cpu_count()} cpus|torch {torch.__version__}"


class SpeedCache:
    """{machine: {family: choice}} in the user's data folder; a damaged file is measured anew."""

    def __init__(self, path: Path | None = None):
        if path is None:
            from resnet_studio.core.common.paths import data_dir

            path = data_dir() / "speed.json"
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict | None:
        entry = self._read().get(machine_key(), {}).get(key)
        valid = isinstance(entry, dict) and isinstance(entry.get("channels_last"), bool) \
            and isinstance(entry.get("threads"), int) and entry["threads"] >= 1
        return entry if valid else None

    def put(self, key: str, choice: dict) -> None:
        from resnet_studio.core.common.files import write_text_atomic

        data = self._read()
        data.setdefault(machine_key(), {})[key] = choice
        with contextlib.suppress(OSError):  # a read-only data folder: measure again next time
            write_text_atomic(self.path, json.dumps(data, indent=1) + "\n")
