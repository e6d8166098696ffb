"""classify_folder_rss_mb and bomb_refusal_rss_mb: memory stays bounded under hostile sizes.

* classify_folder_rss_mb = peak RSS (MB) of `resnet-studio classify` over a folder of 500
  640x480 JPEGs (ResNet-18, random weights, CPU) in a fresh process: decoding, classifying and
  keeping one batch at a time, it should not grow with the number of files. Most of it is
  import torch + torchvision (about 690 MB here); the rest the model and one batch's forward.
* bomb_refusal_rss_mb = peak RSS (MB) of `resnet-studio classify --weights bomb.pth` where
  bomb.pth is a 1 MB PyTorch archive whose pickle declares a 1 GiB tensor and whose data
  member is 1 GiB of zeros, deflated: the archive check refuses it from the zip directory
  before torch inflates a byte (torch.load itself would take it to about 1.7 GB).

Each figure is the peak of its own child (os.wait4's rusage), not of the benchmark process.
"""

import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.harness import record

ROOT = Path(__file__).resolve().parent.parent
FILES = 500
BOMB_BYTES = 1 << 30
_MARK = 123457  # the template tensor's element count, patched in its pickle


def _photo(seed: int, size=(640, 480)) -> Image.Image:
    """A smooth random image (compresses and resizes like a photo, unlike white noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def make_bomb(path: Path, nbytes: int = BOMB_BYTES) -> None:
    """A torch.save archive of {"fc.weight": a float32 tensor of nbytes}, its data member
    deflated from zeros, written by streaming (never nbytes in memory)."""
    import torch

    buf = io.BytesIO()
    torch.save({"fc.weight": torch.zeros(_MARK)}, buf)
    template = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w") as out:
        for info in template.infolist():
            data = template.read(info)
            if info.filename.endswith("/data.pkl"):  # the storage's numel and the tensor's size
                assert data.count(struct.pack("<i", _MARK)) == 2, "unexpected pickle layout"
                data = data.replace(struct.pack("<i", _MARK), struct.pack("<i", nbytes // 4))
            if info.filename.endswith("/data/0"):
                member = zipfile.ZipInfo(info.filename)
                member.compress_type = zipfile.ZIP_DEFLATED
                with out.open(member, "w", force_zip64=True) as f:
                    for _ in range(nbytes // len(chunk)):
                        f.write(chunk)
            else:
                out.writestr(info.filename, data)


def peak_rss_mb(args: list[str], stdout=subprocess.DEVNULL) -> tuple[float, int, str]:
    """(peak RSS in MB, exit code, stderr) of `resnet-studio ARGS` in a fresh interpreter."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "resnet_studio", *args], cwd=ROOT,
                                stdout=stdout, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return usage.ru_maxrss / 1024, proc.returncode, err.read().decode(errors="replace")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for i in range(FILES):
            _photo(i).save(folder / f"photo{i:03d}.jpg", quality=90)
        out_path = Path(tmp) / "predictions.json"
        with out_path.open("wb") as out:
            rss, code, err = peak_rss_mb(["classify", str(folder), "--model", "resnet18",
                                          "--weights", "random", "--json"], stdout=out)
        assert code == 0, err[-2000:]
        predictions = json.loads(out_path.read_text())["predictions"]
        assert [Path(p["path"]).name for p in predictions] == \
            [f"photo{i:03d}.jpg" for i in range(FILES)]
        record("classify_folder_rss_mb", rss, f"peak RSS of `resnet-studio classify` over "
               f"{FILES} 640x480 JPEGs, ResNet-18 random weights, CPU, default batch",
               goal="< 1000", digits=0)

        bomb = Path(tmp) / "bomb.pth"
        make_bomb(bomb)
        rss, code, err = peak_rss_mb(["classify", str(folder / "photo000.jpg"), "--model",
                                      "resnet18", "--weights", str(bomb)])
        assert code == 2 and "decompression bomb" in err, err[-2000:]
        record("bomb_refusal_rss_mb", rss, f"peak RSS of `resnet-studio classify --weights` on "
               f"a {bomb.stat().st_size / 1e6:.1f} MB .pth declaring {BOMB_BYTES / 2**30:.0f} "
               "GiB of zeros, refused before torch.load", goal="< 800", digits=0)


if __name__ == "__main__":
    main()
