"""What the Images and Attributions tabs show before the user brings anything: the shipped
trained ResNet-20 (with its trained plain-20 twin) and a handful of sample images of the
built-in data it was trained on, so that the first predictions and maps are of trained
weights, offline. ImageNet weights stay the default for a model once they are on the machine.

The samples are the first validation image of each class of the shipped nets' dataset
(`trained_nets.shipped_dataset()`), as 16 x 16 PNGs named after their class
(`assets/samples/glyph-0.png` ...). Regenerate them (a second) with

    python -m resnet_studio.app.samples --regenerate

`default_source(model)` says, without downloading anything, what "automatic" weights stand for;
it imports torch (call it from a worker).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from resnet_studio.app.asset_cli import asset_arguments
from resnet_studio.core.common import files
from resnet_studio.core.spec import ArchSpec

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "samples"
AUTO = "auto"  # the weights a tab starts with: see `default_source`
SHIPPED = "shipped"  # the shipped trained ResNet-20, whatever model the sidebar shows
SHIPPED_NET, SHIPPED_TWIN = "resnet20", "plain20"
SHIPPED_LABEL = "trained ResNet-20 (built-in glyphs), shipped"
SHIPPED_TWIN_LABEL = "trained plain-20 (built-in glyphs), shipped"


@dataclass(frozen=True)
class DefaultSource:
    """What a tab's automatic weights stand for: ImageNet weights for `model` when they are on
    this machine, else the shipped trained pair (a checkpoint carrying its own spec: `model`
    None, `twin` the plain twin's checkpoint)."""

    model: str | ArchSpec | None
    weights: str
    twin: str | None  # the plain twin's checkpoint; None: the twin gets random weights
    label: str  # what the tab says it shows

    @property
    def shipped(self) -> bool:
        return self.twin is not None


def shipped_pair() -> DefaultSource:
    from resnet_studio.app.trained_nets import shipped_info

    return DefaultSource(model=None, weights=str(shipped_info(SHIPPED_NET).path),
                         twin=str(shipped_info(SHIPPED_TWIN).path), label=SHIPPED_LABEL)


def imagenet_weights_here(model: str | ArchSpec) -> bool:
    """torchvision has ImageNet weights for `model` and their file is in the torch hub cache
    (nothing is downloaded)."""
    from resnet_studio.core.weights import default_weights
    from resnet_studio.core.weights.torchvision import imagenet_weights_file

    try:
        return default_weights(model) == "imagenet" and imagenet_weights_file(model).is_file()
    except (ValueError, KeyError, OSError):
        return False


def default_source(model: str | ArchSpec | None, weights: str = AUTO) -> DefaultSource:
    """What `weights` AUTO stands for: ImageNet weights for `model` where they are on this
    machine; otherwise (offline, or a model torchvision has no weights for) the shipped
    trained ResNet-20 and plain-20. SHIPPED: that pair always."""
    if weights == AUTO and model is not None and imagenet_weights_here(model):
        return DefaultSource(model=model, weights="imagenet", twin=None,
                             label="ImageNet weights (torchvision)")
    return shipped_pair()


def shipped_label(weights: str | Path | None) -> str | None:
    """The tab's name for a shipped checkpoint (the trained ResNet-20 or plain-20), else None."""
    if not weights or str(weights) in ("imagenet", "random", AUTO, SHIPPED):
        return None
    from resnet_studio.app.trained_nets import TRAINED_DIR

    p = Path(weights).expanduser()
    if p.parent.resolve() != TRAINED_DIR.resolve():
        return None
    return {SHIPPED_NET: SHIPPED_LABEL, SHIPPED_TWIN: SHIPPED_TWIN_LABEL}.get(p.stem)


# -- the sample images ---------------------------------------------------------------------------

def sample_paths(folder: Path = SAMPLES_DIR) -> list[Path]:
    """The sample images, in class order."""
    return sorted(folder.glob("glyph-*.png"), key=lambda p: int(p.stem.split("-")[1]))


def sample_class(path: str | Path) -> str:
    """The class a sample image shows ("glyph 3" for glyph-3.png)."""
    return Path(path).stem.replace("-", " ")


def make_samples(dataset: str | None = None) -> dict[str, bytes]:
    """File name -> PNG bytes: the first validation image of each class of `dataset` (default:
    the shipped nets'), exactly as the generator draws it."""
    import numpy as np
    from PIL import Image

    from resnet_studio.app.trained_nets import shipped_dataset
    from resnet_studio.core.data.synthetic import SyntheticOptions, make_synthetic

    name = dataset or shipped_dataset()
    kind, _, options = name.partition(":")
    if kind != "synthetic":
        raise ValueError(f"sample images are drawn from the built-in data, not {name}")
    o = SyntheticOptions.parse(options)
    x, y = make_synthetic(o.val, classes=o.classes, size=o.size, channels=o.channels,
                          seed=o.seed, split="val", easy=bool(o.easy))
    out = {}
    for c in range(o.classes):
        hits = np.flatnonzero(y == c)
        if not len(hits):
            continue
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(x[hits[0]].transpose(1, 2, 0))).save(buf, "PNG")
        out[f"glyph-{c}.png"] = buf.getvalue()
    return out


def regenerate(folder: Path = SAMPLES_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in sample_paths(folder):
        old.unlink()
    written = []
    for name, data in make_samples().items():
        files.write_bytes_atomic(folder / name, data)
        written.append(folder / name)
    return written


def main(argv: list[str] | None = None) -> int:
    args = asset_arguments(argv, "resnet_studio.app.samples", __doc__,
                           "draw the sample images again from the built-in data", SAMPLES_DIR)
    paths = regenerate(args.out) if args.regenerate else sample_paths(args.out)
    for p in paths:
        print(f"{sample_class(p):<10} {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
