"""Robust image loading: a matrix of awkward files made on the spot; none may crash."""

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from resnet_studio.core.images import (
    ImageLoadError,
    LoadFailure,
    expand_image_paths,
    from_pil,
    load_image,
    load_images,
)


def _rgb(w=40, h=20, color=(200, 30, 60)):
    return Image.new("RGB", (w, h), color)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_huge_1bit_png(path, side=20000):
    """A valid 1-bit PNG of side x side pixels, a few tens of KB on disk, written row by row."""
    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))


@pytest.fixture
def matrix(tmp_path):
    """name -> path of every awkward case."""
    files = {}

    def path(name):
        files[name.split(".")[0]] = tmp_path / name
        return tmp_path / name

    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    _rgb(40, 20).save(path("exif6.jpg"), exif=exif.tobytes())
    Image.new("L", (16, 16), 77).save(path("gray.png"))
    Image.new("LA", (16, 16), (90, 0)).save(path("la.png"))  # fully transparent
    rgba = Image.new("RGBA", (16, 16), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(path("rgba.png"))
    pal = Image.new("P", (16, 16), 1)
    pal.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.save(path("palette.png"), transparency=0)
    _rgb(16, 16, (20, 120, 220)).convert("CMYK").save(path("cmyk.jpg"), quality=95)
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(path("sixteen.png"))
    frames = [Image.new("P", (12, 12), i) for i in range(3)]
    for f in frames:
        f.putpalette([0, 255, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    frames[0].save(path("anim.gif"), save_all=True, append_images=frames[1:], duration=50, loop=0)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8)).save(
        buf, "JPEG", quality=90)
    path("truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    write_huge_1bit_png(path("huge.png"))
    path("notes.png").write_text("these are my notes, not a picture\n")
    path("empty.png").write_bytes(b"")
    return files


def test_exif_orientation_rotates(matrix):
    img = load_image(matrix["exif6"])
    assert img.original_size == (40, 20)
    assert img.size == (20, 40)
    assert any("EXIF-rotated" in n and "6" in n for n in img.notes)
    assert img.image.mode == "RGB"


def test_modes_become_rgb(matrix):
    gray = load_image(matrix["gray"])
    assert gray.original_mode == "L" and gray.to_array()[0, 0].tolist() == [77, 77, 77]
    la = load_image(matrix["la"])  # transparent -> composited on white
    assert la.to_array()[5, 5].tolist() == [255, 255, 255]
    assert "transparency composited on white" in la.notes
    rgba = load_image(matrix["rgba"])
    assert rgba.to_array()[0, 0].tolist() == [255, 255, 255]
    assert rgba.to_array()[3, 3].tolist() == [255, 0, 0]
    pal = load_image(matrix["palette"])
    assert pal.original_mode == "P"
    assert pal.to_array()[0, 0].tolist() == [255, 255, 255]  # transparent index -> white
    assert pal.to_array()[4, 4].tolist() == [0, 0, 255]
    cmyk = load_image(matrix["cmyk"])
    assert cmyk.original_mode == "CMYK" and cmyk.image.mode == "RGB"
    assert np.abs(cmyk.to_array()[8, 8].astype(int) - [20, 120, 220]).max() <= 6


def test_16bit_is_scaled_not_clipped(matrix):
    img = load_image(matrix["sixteen"])
    assert img.original_mode.startswith("I")
    assert set(np.unique(img.to_array()).tolist()) == {128}
    assert "16-bit scaled to 8-bit" in img.notes
    # full range maps to full range
    ramp = Image.fromarray(np.array([[0, 257, 65535]], np.uint16))
    arr = from_pil(ramp).to_array()[0, :, 0]
    assert arr.tolist() == [0, 1, 255]


def test_animated_gif_gives_first_frame(matrix):
    img = load_image(matrix["anim"])
    assert "first frame of 3" in img.notes
    assert img.to_array()[0, 0].tolist() == [0, 255, 0]


def test_broken_files_give_per_file_reasons(matrix):
    cases = {"truncated": "truncated", "notes": "text file", "empty": "empty file"}
    for key, words in cases.items():
        with pytest.raises(ImageLoadError) as e:
            load_image(matrix[key])
        assert words in e.value.reason, e.value.reason
        assert matrix[key].name in str(e.value)
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(matrix["gray"].with_name("missing.png"))
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(matrix["gray"].parent)


def test_huge_png_is_refused_before_decoding(matrix):
    assert matrix["huge"].stat().st_size < 200_000
    with pytest.raises(ImageLoadError) as e:
        load_image(matrix["huge"])
    assert "20000×20000" in e.value.reason and "400 megapixels" in e.value.reason
    assert "decompression bomb" in e.value.reason and "downscale it first" in e.value.reason
    # memory stays bounded: decoding would take >= 400 MB (PIL keeps 1 byte per 1-bit pixel).
    # VmHWM is the fresh process's own peak (ru_maxrss would include the forking parent's).
    code = ("import sys\n"
            "from resnet_studio.core.images import load_image, ImageLoadError\n"
            "try:\n    load_image(sys.argv[1])\nexcept ImageLoadError:\n    pass\n"
            "print([ln.split()[1] for ln in open('/proc/self/status') if "
            "ln.startswith('VmHWM')][0])")
    if not sys.platform.startswith("linux"):
        return
    out = subprocess.run([sys.executable, "-c", code, str(matrix["huge"])], capture_output=True,
                         text=True, timeout=60, check=True)
    assert int(out.stdout.strip()) < 150_000  # KiB


def test_big_jpeg_decoded_at_reduced_scale(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (10, 200, 10)).save(path, quality=80)
    img = load_image(path, max_side=400)
    assert img.size == (400, 300)
    assert img.original_size == (4000, 3000)
    assert any(n.startswith("downscaled from 4000×3000") and "1/8" in n for n in img.notes)
    # a PNG too: downscaled after decoding
    Image.new("RGB", (1000, 500)).save(tmp_path / "wide.png")
    assert load_image(tmp_path / "wide.png", max_side=100).size == (100, 50)


def test_load_images_expands_folders_and_keeps_going(matrix, tmp_path):
    sub = tmp_path / "more" / "deeper"
    sub.mkdir(parents=True)
    _rgb().save(sub / "a.webp")
    (sub / "readme.txt").write_text("skip me")
    (tmp_path / "nothing").mkdir()
    files, failures = expand_image_paths([tmp_path / "more", tmp_path / "nothing"])
    assert [f.name for f in files] == ["a.webp"]
    assert failures[0].path.name == "nothing" and "no image files" in failures[0].reason
    seen = []
    loaded, failures = load_images([tmp_path], progress=lambda d, t, m: seen.append((d, t)))
    names = {i.name for i in loaded}
    assert {"exif6.jpg", "gray.png", "anim.gif", "cmyk.jpg", "a.webp"} <= names
    failed = {f.path.name: f.reason for f in failures}
    assert set(failed) == {"truncated.jpg", "huge.png", "notes.png", "empty.png"}
    assert all(isinstance(f, LoadFailure) for f in failures)
    assert seen[-1][0] == seen[-1][1] == len(loaded) + 4
    stop_after = iter([False, False, True])
    loaded, _ = load_images([tmp_path], should_stop=lambda: next(stop_after))
    assert len(loaded) <= 2
