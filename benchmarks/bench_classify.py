"""classify_ratio and first_result_s: what the app's classification path costs.

* classify_ratio = images/s of `classify(source, images, batch_size=32)` on 32 loaded images
  (preprocessing from PIL included) ÷ images/s of a bare batched forward of the same model on
  the same images already preprocessed into one tensor. 1.0 would mean preprocessing, softmax,
  top-k and bookkeeping cost nothing; the goal is ≥ 0.9.
* first_result_s = seconds from an image file on disk to its prediction with ResNet-50 on the
  CPU, the model already loaded the way the Images tab loads it (`app.images.open_source`,
  which ends with a warm-up pass; its time is printed as model_load_s): `load_image` +
  `classify`.

Random weights (no download); CPU only.
"""

import tempfile
import time
import timeit
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from resnet_studio.core.classify import classify
from resnet_studio.core.images import load_image
from resnet_studio.core.weights import random_source

BATCH = 32


def _photo(seed: int, size=(640, 480)) -> Image.Image:
    """A smooth random image (compresses and resizes like a photo, unlike white noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def best_of(fn, repeats: int = 3) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def classify_ratio(model_name: str, files: list[Path]) -> tuple[float, float, float]:
    source = random_source(model_name)
    images = [load_image(f) for f in files]  # LoadedImage: PIL images, as the app holds them
    x = source.preprocess.batch(images)  # the same pixels, preprocessed once
    model = source.model.eval()

    def bare():
        with torch.no_grad():
            model(x)

    def app():
        out = classify(source, images, batch_size=BATCH)
        assert len(out) == len(images)

    bare()  # warm-up: oneDNN primitives, allocator
    app()
    t_bare, t_app = best_of(bare), best_of(app)
    return (len(images) / t_app) / (len(images) / t_bare), t_app, t_bare


def first_result(files: list[Path]) -> dict[str, float]:
    """The app's way (the Images tab's model loading, which ends with a warm-up pass), and a
    bare `random_source` for comparison."""
    from resnet_studio.app.images import open_source
    from resnet_studio.app.model_sources import ModelSourceCache

    def one(source, path):
        t = time.perf_counter()
        pred = classify(source, [load_image(path)], topk=5, batch_size=1)[0]
        assert len(pred.labels) == 5
        return time.perf_counter() - t

    models = ModelSourceCache()
    start = time.perf_counter()
    open_source(models, "resnet50", "random")
    source = models.get("resnet50", "random")
    out = {"load_s": time.perf_counter() - start, "cold": one(source, files[0]),
           "warm": min(one(source, f) for f in files[1:4])}
    start = time.perf_counter()
    bare = random_source("resnet50")
    out["bare_load_s"] = time.perf_counter() - start
    out["bare_cold"] = one(bare, files[4])
    return out


def main() -> None:
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(BATCH):
            f = Path(tmp) / f"photo{i:02d}.jpg"
            _photo(i).save(f, quality=90)
            files.append(f)

        r = first_result(files)
        print(f"first_result_s = {r['cold']:.3f}  (resnet50, CPU, {torch.get_num_threads()} "
              f"threads; file -> prediction, the first image after the model is loaded; "
              f"warm {r['warm']:.3f} s)", flush=True)
        print(f"model_load_s = {r['load_s']:.2f}  (resnet50 random weights as the Images tab "
              f"loads it: build + layer list + one warm-up pass; without the warm-up "
              f"{r['bare_load_s']:.2f} s, but then the first image takes "
              f"{r['bare_cold']:.3f} s)", flush=True)

        results = {}
        for name in ("resnet18", "resnet50"):
            results[name] = classify_ratio(name, files)
            ratio, t_app, t_bare = results[name]
            print(f"classify_ratio[{name}] = {ratio:.3f}  (app {BATCH / t_app:.1f} img/s incl. "
                  f"preprocessing of {BATCH} 640×480 JPEG-decoded images, bare forward "
                  f"{BATCH / t_bare:.1f} img/s)", flush=True)
        print(f"classify_ratio = {results['resnet50'][0]:.3f}  (resnet50; "
              f"resnet18 {results['resnet18'][0]:.3f})", flush=True)


if __name__ == "__main__":
    main()
