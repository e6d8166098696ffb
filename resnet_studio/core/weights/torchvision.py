"""torchvision's pretrained ImageNet weights: its Weights enum (file name from its `url`,
`transforms()`, `meta["categories"]`), the torch hub cache, and a download with progress.

The hub cache (`torch.hub.get_dir()/checkpoints/<file>`, i.e. `$TORCH_HOME`) is looked at
first; then the file is downloaded; offline, `WeightsUnavailable` names the file and the
folder to put it in.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import torch

from resnet_studio.core.common.progress import Cancelled, ProgressFn
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.preprocess import Preprocess
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.weights.source import (
    ModelSource,
    WeightsError,
    WeightsMismatch,
    WeightsUnavailable,
    model_from_state,
    resolve_spec,
    torchvision_name,
)
from resnet_studio.core.weights.state_dict import compare_state, read_state_dict
from resnet_studio.core.zoo import PRESETS


def imagenet_weights(model: str | ArchSpec, variant: str = "DEFAULT"):
    """The torchvision Weights enum member for a preset (DEFAULT, IMAGENET1K_V1, ...)."""
    from torchvision.models import get_model_weights

    spec = resolve_spec(model)
    tv = torchvision_name(spec)
    if tv is None:
        have = ", ".join(n for n, p in PRESETS.items() if p.torchvision)
        raise WeightsError(f"no pretrained ImageNet weights for {spec.name}: torchvision has "
                           f"them only for {have}. Use random weights or a checkpoint.")
    enum = get_model_weights(tv)
    try:
        return enum[variant.upper()] if variant.upper() != "DEFAULT" else enum.DEFAULT
    except KeyError:
        raise WeightsError(f"{enum.__name__} has no '{variant}'; choose one of "
                           f"{', '.join(['DEFAULT', *enum.__members__])}") from None


def hub_checkpoints_dir() -> Path:
    """Where torch (and torchvision) keep downloaded weights: $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def imagenet_weights_file(model: str | ArchSpec, variant: str = "DEFAULT") -> Path:
    """The cache path the weights file of `model` has (whether it is there or not)."""
    w = imagenet_weights(model, variant)
    return hub_checkpoints_dir() / os.path.basename(urlparse(w.url).path)


def _open_url(url: str, timeout: float = 30.0):  # a seam for tests; never called by them
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - https URL from torchvision


def download_file(url: str, dest: Path, *, progress: ProgressFn | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Path:
    """Download to a temp file beside `dest`, check torch hub's sha256 prefix in the file name
    (`name-<hash>.pth`), then rename into place. Raises OSError/URLError when offline, and
    `Cancelled` (nothing left behind) once `should_stop()` says so."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    sha = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as f, _open_url(url) as response:
            total = int(response.headers.get("Content-Length") or 0) \
                if hasattr(response, "headers") else 0
            done = 0
            while True:
                if should_stop is not None and should_stop():
                    raise Cancelled(f"download of {dest.name} cancelled")
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                f.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total, f"downloading {dest.name}")
        m = re.search(r"-([a-f0-9]{6,})\.", dest.name)
        if m and not sha.hexdigest().startswith(m.group(1)):
            raise WeightsError(f"downloaded {dest.name} is damaged (its sha256 does not start "
                               f"with {m.group(1)}); try again")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def load_imagenet(model: str | ArchSpec, *, variant: str = "DEFAULT", download: bool = True,
                  progress: ProgressFn | None = None,
                  should_stop: Callable[[], bool] | None = None) -> ModelSource:
    """torchvision's pretrained weights for an ImageNet preset: cache first, then download."""
    spec = resolve_spec(model)
    weights = imagenet_weights(spec, variant)
    path = imagenet_weights_file(spec, variant)
    if not path.is_file():
        folder = path.parent
        hint = (f"put {path.name} (from {weights.url}) into {folder} "
                "(or set TORCH_HOME to a folder whose hub/checkpoints holds it)")
        if not download:
            raise WeightsUnavailable(f"the ImageNet weights for {spec.name} are not on this "
                                     f"machine: {hint}", file=path.name, folder=folder,
                                     url=weights.url)
        try:
            download_file(weights.url, path, progress=progress, should_stop=should_stop)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
            raise WeightsUnavailable(f"cannot download the ImageNet weights for {spec.name} "
                                     f"({reason}); offline? {hint}", file=path.name,
                                     folder=folder, url=weights.url) from None
    state = read_state_dict(path).tensors
    report = compare_state(build_model(spec, "meta").state_dict(), state)
    if not report.ok:
        raise WeightsMismatch(f"{path} does not fit {spec.name}: {report.summary()}. "
                              "Delete the file to download it again.", report)
    model_ = model_from_state(spec, state)
    meta = {k: v for k, v in weights.meta.items() if k != "categories"}
    acc = weights.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
    return ModelSource(
        model=model_, spec=spec, kind="torchvision",
        label=f"ImageNet weights ({weights}, torchvision"
              + (f", top-1 {acc:.1f}%)" if acc else ")"),
        categories=tuple(weights.meta["categories"]),
        preprocess=Preprocess.from_weights(weights), path=path, weights_name=str(weights),
        report=report, meta=meta)
