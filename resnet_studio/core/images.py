"""Robust image loading: whatever file a user drops becomes an RGB image, or one clear reason.

`load_image(path)` returns a `LoadedImage` (an RGB PIL image plus what was done to it: EXIF
orientation applied, first frame of an animation, transparency composited on white, 16-bit
scaled to 8-bit, huge images downscaled...) or raises `ImageLoadError` naming the file and the
reason. `load_images(paths)` expands folders recursively and returns `(loaded, failures)` so one
bad file never stops the others.

Huge files: JPEGs are decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (`Image.draft`) when
the result is to be downscaled anyway; other formats cannot be decoded at a reduced size, so a
file that would need more than `max_pixels` pixels in memory is refused before decoding, with a
message instead of PIL's generic decompression-bomb error.

Imports only PIL and numpy (no torch): cheap enough for the GUI to call before the heavy imports.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".gif", ".tif",
                    ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".ico")
DEFAULT_MAX_SIDE = 4096  # longer side after loading; larger images are downscaled
DEFAULT_MAX_PIXELS = 100_000_000  # pixels decoded at once (after any JPEG draft reduction)
WHITE = (255, 255, 255)

# progress(done, total, message), as in core.data
Progress = Callable[[int, int, str], None]

_OPEN_LOCK = threading.Lock()
_ORIENTATIONS = {2: "mirrored", 3: "rotated 180°", 4: "flipped vertically",
                 5: "transposed", 6: "rotated 90° clockwise", 7: "transversed",
                 8: "rotated 90° anticlockwise"}


class ImageLoadError(ValueError):
    """One file could not be loaded; `path` and `reason` for per-file lists."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)

    def to_failure(self) -> LoadFailure:
        return LoadFailure(self.path if self.path is not None else Path("<image>"), self.reason)


@dataclass(frozen=True)
class LoadFailure:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def to_dict(self) -> dict:
        return {"path": str(self.path), "reason": self.reason}


@dataclass
class LoadedImage:
    image: Image.Image  # mode "RGB", fully decoded, not tied to the file
    path: Path | None
    original_size: tuple[int, int]  # (width, height) as stored in the file, before any change
    original_mode: str  # PIL mode in the file: RGB, L, LA, P, CMYK, I;16, ...
    format: str | None  # PIL format name: JPEG, PNG, GIF, ...
    notes: tuple[str, ...] = ()  # what was done: "EXIF-rotated: orientation 6, ...", "first frame of 12"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the loaded image."""
        return self.image.size

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "<image>"

    def to_array(self) -> np.ndarray:
        """H x W x 3 uint8."""
        return np.asarray(self.image, dtype=np.uint8)

    def describe(self) -> str:
        w, h = self.original_size
        text = f"{self.name}  {w}×{h} {self.format or '?'} {self.original_mode}"
        return text + (f" ({'; '.join(self.notes)})" if self.notes else "")


# -- one file ----------------------------------------------------------------------------------

def load_image(path: str | Path, *, max_side: int | None = DEFAULT_MAX_SIDE,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """An RGB image from any file PIL can read, or `ImageLoadError` naming the file and why."""
    p = Path(path).expanduser()
    try:
        if not p.exists():
            raise ImageLoadError(p, "no such file")
        if p.is_dir():
            raise ImageLoadError(p, "is a folder, not an image file")
        size = p.stat().st_size
    except OSError as e:
        raise ImageLoadError(p, f"cannot read ({e.strerror or e})") from None
    if size == 0:
        raise ImageLoadError(p, "empty file (0 bytes)")
    im = _open(p)
    try:
        return _finish(im, p, size, max_side=max_side, max_pixels=max_pixels)
    finally:
        im.close()


def from_pil(image: Image.Image, *, path: str | Path | None = None,
             max_side: int | None = DEFAULT_MAX_SIDE,
             max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """The same normalisation for an image already in memory (clipboard, drag and drop)."""
    return _finish(image, Path(path) if path else None, None, max_side=max_side,
                   max_pixels=max_pixels)


def _open(p: Path) -> Image.Image:
    # PIL's own bomb check would raise a generic error (or warn) while reading the header; the
    # limit applied below depends on what is actually decoded (a JPEG can be decoded at 1/8).
    # The header is parsed with the check off, under a lock, and the real check follows.
    try:
        with _OPEN_LOCK:
            saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                return Image.open(p)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except UnidentifiedImageError:
        raise ImageLoadError(p, _not_an_image_reason(p)) from None
    except PermissionError:
        raise ImageLoadError(p, "permission denied") from None
    except OSError as e:
        raise ImageLoadError(p, f"cannot read ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - malformed headers raise anything (SyntaxError, struct.error)
        raise ImageLoadError(p, f"damaged image header ({type(e).__name__}: {e})") from None


def _not_an_image_reason(p: Path) -> str:
    try:
        with open(p, "rb") as f:
            head = f.read(512)
    except OSError:
        head = b""
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "not an image: it is an HTML page (a failed download?)"
    if b"<svg" in lowered:
        return "SVG (vector) images are not supported: export it as PNG"
    if p.suffix.lower() in (".heic", ".heif", ".avif", ".jxl"):
        return f"{p.suffix[1:].upper()} images need a Pillow plugin this install lacks: " \
               "convert it to JPEG or PNG"
    try:
        head.decode("utf-8")
        if head and not any(b < 9 for b in head):
            return "not an image: it is a text file"
    except UnicodeDecodeError:
        pass
    return "not an image, or an image format Pillow cannot read"


def _finish(im: Image.Image, p: Path | None, file_size: int | None, *, max_side: int | None,
            max_pixels: int) -> LoadedImage:
    notes: list[str] = []
    w, h = im.size
    original_mode, fmt = im.mode, im.format
    if w < 1 or h < 1:
        raise ImageLoadError(p, f"image has no pixels ({w}×{h})")

    frames = 1
    try:
        frames = int(getattr(im, "n_frames", 1) or 1)
        if frames > 1:
            im.seek(0)
    except Exception:  # noqa: BLE001 - a damaged later frame: the first one may still be fine
        frames = 1
    if frames > 1:
        notes.append(f"first frame of {frames}")

    # JPEG: let libjpeg decode at 1/2, 1/4 or 1/8 scale when we would downscale anyway.
    draft_scale = 1
    if max_side and max(w, h) > max_side and fmt in ("JPEG", "MPO") and hasattr(im, "draft"):
        f = max_side / max(w, h)
        try:
            im.draft(None, (max(1, int(w * f)), max(1, int(h * f))))
            draft_scale = max(1, round(w / im.size[0]))
        except Exception:  # noqa: BLE001 - draft is an optimisation only
            draft_scale = 1
    decoded = im.size[0] * im.size[1]
    if decoded > max_pixels:
        how = "" if fmt in ("JPEG", "MPO") else \
            f"; {fmt or 'this format'} cannot be decoded at a reduced size, so downscale it first"
        small = ""
        if file_size is not None and file_size * 50 < decoded:
            small = f" from a {_human_bytes(file_size)} file (possibly a decompression bomb)"
        raise ImageLoadError(p, f"too large to load safely: {w}×{h} = {decoded / 1e6:.0f} "
                                f"megapixels to decode{small}, above the limit of "
                                f"{max_pixels / 1e6:.0f} megapixels{how}")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Image.DecompressionBombError as e:
        raise ImageLoadError(p, f"too large to load safely ({e})") from None
    except MemoryError:
        raise ImageLoadError(p, f"not enough memory to decode {w}×{h} pixels") from None
    except OSError as e:
        msg = str(e)
        if "truncated" in msg.lower():
            raise ImageLoadError(p, f"truncated file: the image data ends early ({msg}); "
                                    "an incomplete download or copy?") from None
        raise ImageLoadError(p, f"damaged image data ({msg})") from None
    except Exception as e:  # noqa: BLE001 - decoders raise anything on bad data
        raise ImageLoadError(p, f"damaged image data ({type(e).__name__}: {e})") from None

    downscaled = False

    def downscale(img: Image.Image) -> Image.Image:
        nonlocal downscaled
        if not max_side or max(img.size) <= max_side:
            return img
        img = img.copy() if img is im else img
        # reduce() by whole factors first (cheap box filter), then Lanczos for the rest
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
        downscaled = True
        return img

    try:
        out, orientation = _orient(im, notes)
        if out.mode in ("L", "RGB", "RGBA", "LA"):  # resample before converting: less memory
            out = downscale(out)
        out = downscale(_to_rgb(out, notes))
    except ImageLoadError as e:
        raise ImageLoadError(p, e.reason) from None
    except Exception as e:  # noqa: BLE001
        raise ImageLoadError(p, f"cannot convert {original_mode} to RGB "
                                f"({type(e).__name__}: {e})") from None

    if downscaled:
        ow, oh = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
        how = f", JPEG decoded at 1/{draft_scale} scale" if draft_scale > 1 else ""
        notes.append(f"downscaled from {ow}×{oh}{how}")
    elif draft_scale > 1:
        notes.append(f"downscaled from {w}×{h} (JPEG decoded at 1/{draft_scale} scale)")
    if out is im:
        out = im.copy()  # closing the file would free the pixels of `im`
    return LoadedImage(image=out, path=p, original_size=(w, h), original_mode=original_mode,
                       format=fmt, notes=tuple(notes))


def _orient(im: Image.Image, notes: list[str]) -> tuple[Image.Image, int]:
    """Apply the EXIF orientation tag; returns the image and the tag (1 = none)."""
    try:
        orientation = int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not a reason to refuse the image
        return im, 1
    if orientation not in _ORIENTATIONS:
        return im, 1
    out = ImageOps.exif_transpose(im)
    notes.append(f"EXIF-rotated: orientation {orientation}, {_ORIENTATIONS[orientation]}")
    return (out if out is not None else im), orientation


def _composite(rgba: Image.Image, notes: list[str]) -> Image.Image:
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:  # fully opaque: just drop the channel
        return rgba.convert("RGB")
    background = Image.new("RGB", rgba.size, WHITE)
    background.paste(rgba, mask=alpha)
    notes.append("transparency composited on white")
    return background


def _to_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("1", "L"):
        notes.append("black and white" if mode == "1" else "grayscale")
        return im.convert("RGB")
    if mode == "P":
        notes.append("palette")
        if "transparency" in im.info:
            return _composite(im.convert("RGBA"), notes)
        return im.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        if mode in ("LA", "La"):
            notes.append("grayscale")
        elif mode == "PA":
            notes.append("palette")
        return _composite(im.convert("RGBA"), notes)
    if mode == "CMYK":
        notes.append("CMYK converted to RGB")
        return _cmyk_to_rgb(im)
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im)
        return Image.fromarray(_int_to_uint8(arr, mode, notes), "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        return Image.fromarray(_float_to_uint8(arr, notes), "L").convert("RGB")
    try:
        out = im.convert("RGB")
    except ValueError:
        raise ImageLoadError(None, f"unsupported colour mode {mode}") from None
    notes.append(f"{mode} converted to RGB")
    return out


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    icc = im.info.get("icc_profile")
    if icc:
        try:
            import io

            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            if out is not None:
                return out
        except Exception:  # noqa: BLE001 - fall back to PIL's plain conversion
            pass
    return im.convert("RGB")


def _int_to_uint8(arr: np.ndarray, mode: str, notes: list[str]) -> np.ndarray:
    a = arr.astype(np.int64)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if mode.startswith("I;16") or (lo >= 0 and hi <= 65535):
        notes.append("16-bit scaled to 8-bit")
        return ((a * 255 + 32767) // 65535).astype(np.uint8)  # round(v / 257)
    notes.append(f"32-bit values stretched from [{lo}, {hi}] to 8-bit")
    return _stretch(a.astype(np.float64), lo, hi)


def _float_to_uint8(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    finite = np.isfinite(arr)
    a = np.where(finite, arr, 0.0).astype(np.float64)
    lo, hi = (float(a[finite].min()), float(a[finite].max())) if finite.any() else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0:
        notes.append("floating-point 0..1 scaled to 8-bit")
        return np.round(a * 255).astype(np.uint8)
    notes.append(f"floating-point values stretched from [{lo:g}, {hi:g}] to 8-bit")
    return _stretch(a, lo, hi)


def _stretch(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return np.round((a - lo) * (255.0 / (hi - lo))).clip(0, 255).astype(np.uint8)


def _human_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


# -- many files --------------------------------------------------------------------------------

def expand_image_paths(paths: Iterable[str | Path], *,
                       extensions: Sequence[str] = IMAGE_EXTENSIONS,
                       recursive: bool = True) -> tuple[list[Path], list[LoadFailure]]:
    """Files as given (any extension: the loader decides) plus the image files inside folders
    (recursively, sorted, hidden files skipped). Missing paths and folders without images come
    back as failures."""
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    files: list[Path] = []
    failures: list[LoadFailure] = []
    seen: set[Path] = set()

    def add(f: Path) -> None:
        key = f.resolve() if f.exists() else f
        if key not in seen:
            seen.add(key)
            files.append(f)

    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            pattern = p.rglob("*") if recursive else p.glob("*")
            found = sorted(f for f in pattern if f.is_file() and f.suffix.lower() in exts
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                failures.append(LoadFailure(p, "folder holds no image files "
                                               f"({', '.join(sorted(exts)[:6])}, ...)"))
            for f in found:
                add(f)
        elif p.exists():
            add(p)
        else:
            failures.append(LoadFailure(p, "no such file or folder"))
    return files, failures


def load_images(paths: Iterable[str | Path], *, extensions: Sequence[str] = IMAGE_EXTENSIONS,
                recursive: bool = True, max_side: int | None = DEFAULT_MAX_SIDE,
                max_pixels: int = DEFAULT_MAX_PIXELS, progress: Progress | None = None,
                should_stop: Callable[[], bool] | None = None,
                ) -> tuple[list[LoadedImage], list[LoadFailure]]:
    """Load every image; a bad file becomes a `LoadFailure` and the others proceed.

    `should_stop()` is checked before each file (cooperative cancel: returns what was loaded)."""
    files, failures = expand_image_paths(paths, extensions=extensions, recursive=recursive)
    loaded: list[LoadedImage] = []
    total = len(files)
    for i, f in enumerate(files):
        if should_stop is not None and should_stop():
            break
        try:
            loaded.append(load_image(f, max_side=max_side, max_pixels=max_pixels))
        except ImageLoadError as e:
            failures.append(e.to_failure())
        if progress is not None:
            progress(i + 1, total, f"loaded {f.name}")
    return loaded, failures


__all__ = ["DEFAULT_MAX_PIXELS", "DEFAULT_MAX_SIDE", "IMAGE_EXTENSIONS", "ImageLoadError",
           "LoadFailure", "LoadedImage", "expand_image_paths", "from_pil", "load_image",
           "load_images"]
