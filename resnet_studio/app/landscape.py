"""Loss landscapes of stored runs, once for the Landscape tab and `resnet-studio landscape`.

A `LandscapeRequest` names one run (or two: a net and its plain twin, drawn side by side on one
colour scale) and the `LandscapeSettings`. `compute_landscapes` opens each run's checkpoint,
takes a fixed set of its training batches (the run's dataset, batch size and seed, without
augmentation) and computes the 2-D slice around the trained weights along two filter-normalised
random directions (core.analysis.landscape: eval-mode BatchNorm, BN and bias unperturbed), the
1-D slice (the middle row: the first direction alone) and optionally the line from the initial
weights. Runs do not keep their initial weights; the Trainer builds them right after
`torch.manual_seed(config.seed)` (its CPU-speed measurement restores the RNG), so
`initial_weights` rebuilds them exactly from the checkpoint's spec and seed.

Each finished landscape is stored in its run's folder as `landscape-<key>.npz` (the key hashes
the settings and the checkpoint's weights file), and a later request with the same settings
reads it back instead of computing. Importing this module does not import torch.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from resnet_studio.core.common.files import write_bytes_atomic
from resnet_studio.core.common.progress import Progress

CACHE_VERSION = 1
MAX_GRID = 101
MAX_BATCHES = 256


@dataclass(frozen=True)
class LandscapeSettings:
    grid: int = 21  # points a side of the 2-D slice (odd: the trained weights are the centre)
    span: float = 1.0  # the slice covers -span..span along each direction
    batches: int = 8  # training batches the loss is averaged over (the run's batch size)
    seed: int = 0  # of the random directions
    line_from_init: bool = False  # also the 1-D line from the initial weights (t = 0..1)

    def check(self) -> LandscapeSettings:
        if self.grid < 3 or self.grid > MAX_GRID or self.grid % 2 == 0:
            raise ValueError(f"the grid must be an odd number of points from 3 to {MAX_GRID} "
                             f"(the trained weights sit at its centre), not {self.grid}")
        if not (0 < self.span <= 100):
            raise ValueError(f"the span must be above 0 and at most 100, not {self.span}")
        if not (1 <= self.batches <= MAX_BATCHES):
            raise ValueError(f"the batches must be from 1 to {MAX_BATCHES}, not {self.batches}")
        if self.seed < 0:
            raise ValueError("the seed must not be negative")
        return self

    def key(self, weights_file: str) -> str:
        """Names the stored file: these settings on these weights."""
        text = json.dumps({**asdict(self), "weights": weights_file, "v": CACHE_VERSION},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# A request's run may be a shipped trained net (app.trained_nets): "shipped:resnet56". Its
# landscapes are stored in the data folder (the package may be read-only).
SHIPPED = "shipped:"


@dataclass(frozen=True)
class LandscapeRequest:
    runs: tuple[str, ...]  # run ids/names in the run store, run folders, checkpoint.json files
    # or shipped nets ("shipped:plain56")
    settings: LandscapeSettings = LandscapeSettings()
    store_path: str | None = None  # the run store (None: the user's own)


@dataclass
class RunLandscape:
    """One run's slices; `surface` rows follow the second direction, columns the first."""

    run: str  # what the request named
    model: str
    step: int
    coords: np.ndarray  # the axis of both directions
    surface: np.ndarray  # grid × grid losses; NaN where not computed yet
    line_coords: np.ndarray = field(default_factory=lambda: np.zeros(0))  # t: 0 init, 1 trained
    line: np.ndarray = field(default_factory=lambda: np.zeros(0))
    path: str = ""  # the stored file
    cached: bool = False  # read back from `path`, not computed

    @property
    def complete(self) -> bool:
        return not np.isnan(self.surface).any()

    @property
    def origin_loss(self) -> float:
        mid = len(self.coords) // 2
        return float(self.surface[mid, mid])

    @property
    def slice_1d(self) -> np.ndarray:
        """The first direction alone: the middle row."""
        return self.surface[len(self.coords) // 2]

    @property
    def label(self) -> str:
        return f"{self.model} (step {self.step})"

    def roughness(self) -> dict[str, float]:
        from resnet_studio.core.analysis.landscape import mean_abs_laplacian, nonconvex_share

        return {"nonconvex_share": nonconvex_share(self.surface),
                "mean_abs_laplacian_log": mean_abs_laplacian(self.surface)}

    def describe(self) -> str:
        r = self.roughness()
        return (f"{self.label}: loss at the trained weights {self.origin_loss:.4f}, "
                f"range {np.nanmin(self.surface):.4f}–{np.nanmax(self.surface):.4f}; "
                f"non-convex points {100 * r['nonconvex_share']:.1f}%, mean |Δ log loss| "
                f"{r['mean_abs_laplacian_log']:.4f}" + (" (stored)" if self.cached else ""))


@dataclass
class LandscapeResult:
    settings: LandscapeSettings
    landscapes: list[RunLandscape]

    def summary(self) -> list[str]:
        return [ls.describe() for ls in self.landscapes]


OnUpdate = Callable[[int, RunLandscape], None]  # (index of the run, its slices so far)


def compute_landscapes(request: LandscapeRequest, progress: Progress | None = None,
                       on_update: OnUpdate | None = None) -> LandscapeResult:
    """Each run's landscape: read back when stored with these settings, computed (and stored)
    otherwise. `on_update` is called from this thread after each refinement level.

    Raises ValueError / OSError for runs that cannot be opened, Cancelled when cancelled."""
    settings = request.settings.check()
    if not 1 <= len(request.runs) <= 2:
        raise ValueError("give one run, or two to compare (a net and its plain twin)")
    progress = Progress.of(progress)
    out = []
    for i, ref in enumerate(request.runs):
        stage = progress.span(i, i + 1, len(request.runs))
        landscape = _run_landscape(ref, settings, request.store_path, stage,
                                   (lambda ls, i=i: on_update(i, ls)) if on_update else None)
        out.append(landscape)
        if on_update is not None:
            on_update(i, landscape)
    return LandscapeResult(settings, out)


def find_run_checkpoint(ref: str, store_path: str | None = None) -> Path:
    """The checkpoint sidecar of a run: a run folder or checkpoint.json as given, otherwise a run
    id or name in the run store."""
    from resnet_studio.core.training.checkpoint import find_checkpoint
    from resnet_studio.core.training.store import RunStore

    if Path(ref).expanduser().exists():
        return find_checkpoint(ref)
    with RunStore(store_path) as store:
        record = store.get(ref)
    if not record.checkpoint:
        raise ValueError(f"run {ref} has no checkpoint (it wrote none before it ended)")
    return find_checkpoint(record.checkpoint)


def initial_weights(spec, seed: int) -> dict[str, Any]:
    """The weights a run with this (dataset-fitted) spec and seed started from: the Trainer
    seeds torch with the config's seed right before building the model."""
    import torch

    from resnet_studio.core.models import build_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(spec).state_dict()


def training_batches(config, count: int, device: str = "cpu") -> list:
    """The first `count` batches of the run's training data in its batch order (its seed),
    without augmentation: the same images every time."""
    from resnet_studio.core.data import TensorBatches, load_dataset

    data = load_dataset(config.dataset, val_fraction=config.val_fraction,
                        image_size=config.image_size or None, download=False).to(device)
    batches = TensorBatches(data, config.batch_size, seed=config.seed, augment=False)
    return [batches.batch(s) for s in range(min(count, batches.steps_per_epoch))]


def stored_landscapes(request: LandscapeRequest) -> list[RunLandscape | None]:
    """What is already stored for each run with these settings (None where nothing is): cheap,
    reads no weights."""
    out = []
    for ref in request.runs:
        path = _stored_path(ref, request.settings, request.store_path)
        out.append(_read_stored(path, ref) if path.is_file() else None)
    return out


def _stored_path(ref: str, settings: LandscapeSettings, store_path: str | None) -> Path:
    """Where the landscape of `ref` with these settings is stored."""
    if ref.startswith(SHIPPED):
        from resnet_studio.app.trained_nets import shipped_info
        from resnet_studio.core.common.paths import data_dir

        name = ref[len(SHIPPED):]
        path = shipped_info(name).path
        stat = path.stat()  # keyed by the file's content: regenerated nets are new weights
        digest = _file_digest(str(path), stat.st_mtime_ns, stat.st_size)
        return data_dir() / "landscapes" / f"shipped-{name}-{settings.key(digest)}.npz"
    from resnet_studio.core.training.checkpoint import read_checkpoint_meta

    sidecar = find_run_checkpoint(ref, store_path)
    meta = read_checkpoint_meta(sidecar)
    return sidecar.parent / f"landscape-{settings.key(meta['weights'])}.npz"


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, _mtime_ns: int, _size: int) -> str:
    """The file's content hash, read once per version of the file (the tab asks on every
    change of its form)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class _TrainedWeights:
    spec: Any
    state: dict
    config: Any  # the TrainConfig it was trained with: dataset, batch size, seed
    step: int


def _open_weights(ref: str, store_path: str | None) -> _TrainedWeights:
    if ref.startswith(SHIPPED):
        from resnet_studio.app import trained_nets

        name = ref[len(SHIPPED):]
        return _TrainedWeights(trained_nets.shipped_info(name).spec,
                               trained_nets.shipped_net(name).state_dict(),
                               trained_nets.shipped_config(), trained_nets.shipped_steps(name))
    from resnet_studio.core.training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(find_run_checkpoint(ref, store_path))
    return _TrainedWeights(ckpt.spec, ckpt.model_state, ckpt.config, ckpt.step)


def _run_landscape(ref: str, settings: LandscapeSettings, store_path: str | None,
                   progress: Progress, on_level) -> RunLandscape:
    path = _stored_path(ref, settings, store_path)
    if path.is_file():
        stored = _read_stored(path, ref)
        if stored is not None:
            return stored
    return _compute(ref, store_path, path, settings, progress, on_level)


def _compute(ref: str, store_path: str | None, path: Path, settings: LandscapeSettings,
             progress: Progress, on_level) -> RunLandscape:
    import torch

    from resnet_studio.core.analysis import landscape as core
    from resnet_studio.core.models import build_model

    progress(0, 1, f"opening {ref}")
    trained = _open_weights(ref, store_path)
    model = build_model(trained.spec)
    model.load_state_dict(trained.state)
    batches = training_batches(trained.config, settings.batches)
    coords = core.axis(settings.grid, settings.span)
    result = RunLandscape(run=ref, model=trained.spec.name, step=trained.step, coords=coords,
                          surface=np.full((settings.grid, settings.grid), np.nan))
    n_line = settings.grid if settings.line_from_init else 0
    total = settings.grid ** 2 + n_line
    with torch.no_grad():
        directions = core.random_directions(model, 2, settings.seed)
        probe = core.LossProbe(model, batches)

        def level(surface):
            result.surface = surface
            if on_level is not None:  # a copy: the receiver may read it on another thread
                on_level(replace(result))

        core.slice_2d(probe, (directions[0], directions[1]), coords,
                      progress.span(0, settings.grid ** 2, total), on_level=level)
        if n_line:
            result.line_coords = np.linspace(0.0, 1.0, n_line)
            result.line = core.interpolation_line(
                model, initial_weights(trained.spec, trained.config.seed), batches,
                result.line_coords, progress.span(settings.grid ** 2, total, total))
    result.path = str(path)
    _store(path, result, settings)
    return result


def _store(path: Path, ls: RunLandscape, settings: LandscapeSettings) -> None:
    buf = io.BytesIO()
    np.savez(buf, coords=ls.coords, surface=ls.surface, line_coords=ls.line_coords,
             line=ls.line, meta=np.array(json.dumps({
                 "format": "resnet-studio/landscape", "version": CACHE_VERSION,
                 "model": ls.model, "step": ls.step, "settings": asdict(settings)})))
    with contextlib.suppress(OSError):  # a read-only run folder: shown, just not kept
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, buf.getvalue())


def _read_stored(path: Path, ref: str) -> RunLandscape | None:
    """The stored landscape, or None for a file that is not one (computed again)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            if meta.get("format") != "resnet-studio/landscape" or \
                    meta.get("version") != CACHE_VERSION:
                return None
            return RunLandscape(run=ref, model=str(meta["model"]), step=int(meta["step"]),
                                coords=f["coords"], surface=f["surface"],
                                line_coords=f["line_coords"], line=f["line"], path=str(path),
                                cached=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- exports -------------------------------------------------------------------------------------

def landscape_csv(result: LandscapeResult) -> str:
    """One row per grid point of each run: run, model, a (first direction), b (second), loss."""
    lines = ["run,model,a,b,loss"]
    for ls in result.landscapes:
        for r, b in enumerate(ls.coords):
            for c, a in enumerate(ls.coords):
                lines.append(f"{ls.run},{ls.model},{a:.6g},{b:.6g},{ls.surface[r, c]:.9g}")
    return "\n".join(lines) + "\n"


def export_name(result: LandscapeResult) -> str:
    return "landscape-" + "-vs-".join(ls.model for ls in result.landscapes)


__all__ = ["LandscapeRequest", "LandscapeResult", "LandscapeSettings", "RunLandscape",
           "compute_landscapes", "find_run_checkpoint", "initial_weights", "landscape_csv",
           "stored_landscapes", "training_batches"]
