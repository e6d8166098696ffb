"""classify_ratio and first_result_s: what the app's classification path costs.

* classify_ratio = images/s of a 32-image drop through the app (`app.classify.classify_files`:
  decode the JPEG files, preprocess, forward, softmax, top-k) ÷ images/s of a bare batched
  forward of the same images, already decoded and preprocessed into one tensor (NCHW, as a
  textbook loop has it). ResNet-50, random weights, 640x480 JPEGs, CPU; the two alternate,
  medians of REPEATS. Goal ≥ 0.95. The app feeds the model channels_last; the details give the
  ratio against a bare channels_last forward too (what decoding and bookkeeping cost).
* first_result_s = seconds from an image file on disk to its prediction with ResNet-50 on the
  CPU, the model already loaded the way the Images tab loads it (`app.images.open_source`,
  which ends with a warm-up pass; its time is printed as model_load_s): `load_image` +
  `classify`.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.harness import interleave, median, record
from resnet_studio.core.classify import classify
from resnet_studio.core.images import load_image
from resnet_studio.core.weights import random_source

BATCH = 32
REPEATS = 5


def _photo(seed: int, size=(640, 480)) -> Image.Image:
    """A smooth random image (compresses and resizes like a photo, unlike white noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def classify_ratio(model_name: str, files: list[Path]) -> tuple[float, float, float, float]:
    from resnet_studio.app.classify import classify_files

    source = random_source(model_name)
    images = [load_image(f) for f in files]
    x = source.preprocess.batch(images)  # decoded and preprocessed once, outside the clock
    model = source.model.eval()

    x_nhwc = x.contiguous(memory_format=torch.channels_last)

    def bare():
        with torch.no_grad():
            model(x)

    def bare_nhwc():
        with torch.no_grad():
            model(x_nhwc)

    def app():
        out = classify_files(files, source, batch_size=BATCH)
        assert len(out.predictions) == len(files)

    times = interleave({"app": app, "bare": bare, "bare_nhwc": bare_nhwc}, repeats=REPEATS)
    t_app, t_bare = median(times["app"]), median(times["bare"])
    return t_bare / t_app, t_app, t_bare, median(times["bare_nhwc"]) / t_app


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
        record("first_result_s", r["cold"], f"ResNet-50, CPU, {torch.get_num_threads()} threads: "
               f"file -> prediction, the first image after the model is loaded; warm "
               f"{r['warm']:.3f} s; model_load_s {r['load_s']:.2f} (build + one warm-up pass; "
               f"without the warm-up {r['bare_load_s']:.2f} s, then the first image takes "
               f"{r['bare_cold']:.3f} s)", digits=3)
        ratio, t_app, t_bare, vs_nhwc = classify_ratio("resnet50", files)
        record("classify_ratio", ratio, f"ResNet-50: a {BATCH}-image drop of 640x480 JPEGs "
               f"{BATCH / t_app:.1f} img/s (decode + preprocess + forward + top-k) vs a bare "
               f"forward of the preprocessed batch {BATCH / t_bare:.1f} img/s; against a bare "
               f"channels_last forward {vs_nhwc:.3f}; medians of {REPEATS}", goal=">= 0.95")

if __name__ == "__main__":
    main()
