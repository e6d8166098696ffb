"""Feature maps: what each layer of a ResNet responds to, and a residual block taken apart.

* `list_layers(model)` / `layer_names(model)` — every module whose output is a stack of maps
  (convs, BNs, ReLUs, pools, shortcuts, blocks, stages) in the order the forward pass calls them,
  found with hooks on a meta-device pass (no compute). A module called more than once per
  forward (the ReLU shared inside a block) gets one name per call: ``layer1.0.relu``,
  ``layer1.0.relu:2``.
* `feature_maps(model, x, layer)` — that layer's output for one image as C x H x W float32
  numpy, with per-channel mean / std / max. The forward pass stops at the layer.
* `mosaic(maps)` — all channels tiled into one uint8 image (one `ImageItem` in the GUI, one PNG
  on the command line); `colorize(mosaic)` maps it through viridis (a built-in 256-entry table).
* `block_decomposition(model, x, block)` — for a residual block: the shortcut path x (after any
  projection or zero-padding), the residual branch F(x) before the addition, and F(x) + x, before
  the final ReLU of post-activation blocks; `max_abs_error` checks that the sum equals what the
  block itself computed.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

# viridis (Smith, van der Walt, Firing; CC0), 256 RGB entries as hex
_VIRIDIS_HEX = (
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769"
    "48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a"
    "472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85"
    "4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b"
    "3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d"
    "33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e"
    "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e"
    "26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d"
    "21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88"
    "1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81"
    "28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74"
    "3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863"
    "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d"
    "84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32"
    "addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725"
)
COLORMAPS = ("viridis", "gray")
NORMALISE = ("per-channel", "global", None)
SORT_BY = ("mean", "std", "max", None)
_SKIP_TYPES = (nn.AdaptiveAvgPool2d, nn.Identity, nn.Flatten, nn.Linear)


def colormap_lut(name: str = "viridis") -> np.ndarray:
    """256 x 3 uint8."""
    if name == "viridis":
        return np.frombuffer(bytes.fromhex("".join(_VIRIDIS_HEX)), np.uint8).reshape(256, 3).copy()
    if name in ("gray", "grey"):
        return np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    raise ValueError(f"unknown colormap '{name}' (choose {', '.join(COLORMAPS)})")


def colorize(gray: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """H x W uint8 -> H x W x 3 uint8 through the colormap."""
    if gray.dtype != np.uint8:
        raise ValueError("colorize expects a uint8 image (e.g. from mosaic)")
    return colormap_lut(colormap)[gray]


# -- layers ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerRef:
    name: str  # what feature_maps() takes: "layer1.0.conv1", "layer1.0.relu:2"
    module: str  # the module's qualified name
    call: int  # 1 for the first call in a forward pass, 2 for the second...
    type: str  # the module's class name
    shape: tuple[int, int, int]  # C, H, W for the input shape listed with


def _split_layer(layer: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.+?):(\d+)", layer.strip())
    return (m.group(1), int(m.group(2))) if m else (layer.strip(), 1)


def _default_input(model: nn.Module) -> tuple[int, int, int]:
    spec = getattr(model, "spec", None)
    if spec is not None:
        return tuple(spec.default_input)
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return (first.in_channels if first is not None else 3, 224, 224)


def list_layers(model: nn.Module, input_shape: Sequence[int] | None = None) -> list[LayerRef]:
    """Every module with a C x H x W output, in forward order (shapes from a meta-device pass)."""
    from torch.func import functional_call

    shape = tuple(input_shape) if input_shape is not None else _default_input(model)
    names = {m: n for n, m in model.named_modules() if n}
    calls: dict[str, int] = {}
    found: list[LayerRef] = []

    def hook(module, _inputs, output):
        name = names.get(module)
        if name is None or not isinstance(output, torch.Tensor):
            return
        calls[name] = calls.get(name, 0) + 1
        if output.ndim == 4 and not isinstance(module, _SKIP_TYPES):
            n = calls[name]
            found.append(LayerRef(name=name if n == 1 else f"{name}:{n}", module=name, call=n,
                                  type=type(module).__name__, shape=tuple(output.shape[1:])))

    tensors = {k: torch.empty_like(v, device="meta")
               for k, v in [*model.named_parameters(), *model.named_buffers()]}
    handles = [m.register_forward_hook(hook) for m in names]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            functional_call(model, tensors, (torch.empty((1, *shape), device="meta"),))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return found


def layer_names(model: nn.Module, input_shape: Sequence[int] | None = None) -> list[str]:
    """conv / bn / relu / shortcut / block / stage names in forward order."""
    return [r.name for r in list_layers(model, input_shape)]


def block_names(model: nn.Module) -> list[str]:
    """Residual blocks (modules with residual() and identity()), in order."""
    return [n for n, m in model.named_modules()
            if n and callable(getattr(m, "residual", None)) and callable(getattr(m, "identity", None))]


def _module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name in modules and name:
        return modules[name]
    close = [n for n in modules if n and (name in n or n.startswith(name.split(".")[0]))][:6]
    hint = f"; e.g. {', '.join(close)}" if close else ""
    raise KeyError(f"no layer '{name}' in this model{hint} (see layer_names / --list)")


# -- feature maps ----------------------------------------------------------------------------------

class _Captured(Exception):
    """Raised by a hook to end the forward pass once the wanted output is in hand."""


def _as_batch(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(image)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4:
        raise ValueError(f"expected a C x H x W image tensor, got shape {tuple(x.shape)}")
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    return x[:1].to(device=device, dtype=torch.float32)


@dataclass
class FeatureMaps:
    layer: str
    maps: np.ndarray  # C x H x W float32
    mean: np.ndarray  # (C,) per-channel mean
    std: np.ndarray  # (C,)
    max: np.ndarray  # (C,)

    @property
    def channels(self) -> int:
        return int(self.maps.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of one map."""
        return int(self.maps.shape[1]), int(self.maps.shape[2])

    @classmethod
    def from_array(cls, layer: str, maps: np.ndarray) -> FeatureMaps:
        maps = np.ascontiguousarray(maps, dtype=np.float32)
        flat = maps.reshape(maps.shape[0], -1)
        return cls(layer=layer, maps=maps, mean=flat.mean(1), std=flat.std(1), max=flat.max(1))


def feature_maps(model: nn.Module, image_tensor: torch.Tensor, layer: str) -> FeatureMaps:
    """The output of `layer` (a name from `layer_names`) for one preprocessed image."""
    name, call = _split_layer(layer)
    module = _module(model, name)
    x = _as_batch(model, image_tensor)
    seen = {"calls": 0}
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        seen["calls"] += 1
        if seen["calls"] == call:
            captured.append(output.detach().float().clone())
            raise _Captured

    handle = module.register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), contextlib.suppress(_Captured):
            model(x)
    finally:
        handle.remove()
        model.train(was_training)
    if not captured:
        raise KeyError(f"layer '{name}' ran {seen['calls']} time(s) in a forward pass; there is "
                       f"no call {call}")
    out = captured[0]
    if out.ndim != 4:
        raise ValueError(f"layer '{layer}' outputs shape {tuple(out.shape)}, not feature maps")
    return FeatureMaps.from_array(layer, out[0].cpu().numpy())


# -- mosaic ------------------------------------------------------------------------------------------

def _maps_array(maps: FeatureMaps | np.ndarray) -> np.ndarray:
    arr = maps.maps if isinstance(maps, FeatureMaps) else np.asarray(maps, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"expected C x H x W maps, got shape {arr.shape}")
    return arr


def mosaic_order(maps: FeatureMaps | np.ndarray, sort_by: str | None = "mean") -> np.ndarray:
    """Channel indices in tile order: by descending per-channel statistic, or as they are."""
    arr = _maps_array(maps)
    if sort_by is None or sort_by == "none":
        return np.arange(arr.shape[0])
    if sort_by not in ("mean", "std", "max"):
        raise ValueError(f"sort_by must be one of mean, std, max or None, got '{sort_by}'")
    flat = arr.reshape(arr.shape[0], -1)
    key = {"mean": flat.mean(1), "std": flat.std(1), "max": flat.max(1)}[sort_by]
    return np.argsort(-key, kind="stable")


def mosaic_grid(channels: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of the tile grid: square-ish by default."""
    cols = int(cols) if cols else max(1, math.ceil(math.sqrt(channels)))
    cols = max(1, min(cols, channels))
    return math.ceil(channels / cols), cols


def mosaic_tile_mask(channels: int, height: int, width: int, cols: int | None = None,
                     pad: int = 1) -> np.ndarray:
    """Boolean mask of a mosaic's shape: True on map pixels, False on padding and empty cells
    (to draw the gaps in another colour)."""
    rows, ncols = mosaic_grid(channels, cols)
    mask = np.zeros((rows * height + (rows - 1) * pad, ncols * width + (ncols - 1) * pad), bool)
    for i in range(channels):
        r, q = divmod(i, ncols)
        mask[r * (height + pad):r * (height + pad) + height,
             q * (width + pad):q * (width + pad) + width] = True
    return mask


def mosaic(maps: FeatureMaps | np.ndarray, normalise: str | None = "per-channel",
           sort_by: str | None = "mean", cols: int | None = None, pad: int = 1) -> np.ndarray:
    """All channels tiled into one H x W uint8 image, `pad` pixels of 0 between tiles.

    normalise: "per-channel" (each map stretched to 0..255 on its own), "global" (one scale for
    all, so brightness compares across channels), or None (values taken as 0..1 and clipped).
    Tile i (row-major) shows channel `mosaic_order(maps, sort_by)[i]`.
    """
    arr = _maps_array(maps)
    c, h, w = arr.shape
    order = mosaic_order(arr, sort_by)
    a = np.nan_to_num(arr[order].astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if normalise == "per-channel":
        lo = a.min(axis=(1, 2), keepdims=True)
        span = a.max(axis=(1, 2), keepdims=True) - lo
        a = np.where(span > 0, (a - lo) / np.where(span > 0, span, 1), 0.0)
    elif normalise == "global":
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    elif normalise is None or normalise == "none":
        a = np.clip(a, 0.0, 1.0)
    else:
        raise ValueError(f"normalise must be 'per-channel', 'global' or None, got '{normalise}'")
    tiles = np.round(a * 255).astype(np.uint8)
    rows, ncols = mosaic_grid(c, cols)
    out = np.zeros((rows * h + (rows - 1) * pad, ncols * w + (ncols - 1) * pad), np.uint8)
    for i in range(c):
        r, q = divmod(i, ncols)
        y, x = r * (h + pad), q * (w + pad)
        out[y:y + h, x:x + w] = tiles[i]
    return out


# -- residual block decomposition ----------------------------------------------------------------

@dataclass
class BlockDecomposition:
    """y = F(x) + shortcut(x) for one block and one image; unpacks as (shortcut, residual, total).

    All arrays are C x H x W float32 (the block's output shape). `total` is before the final
    ReLU of post-activation blocks (`final_relu` True), i.e. what the block adds; `output` is what
    the block returned. For a block without shortcut (plain twin) `shortcut` is zeros."""

    block: str
    shortcut: np.ndarray
    residual: np.ndarray
    total: np.ndarray
    output: np.ndarray
    shortcut_kind: str  # identity | zero_pad | projection | none
    final_relu: bool
    max_abs_error: float  # max |total - the block's own pre-ReLU sum|

    def __iter__(self):
        return iter((self.shortcut, self.residual, self.total))


def block_decomposition(model: nn.Module, image_tensor: torch.Tensor,
                        block_name: str) -> BlockDecomposition:
    from resnet_studio.core.models.blocks import PreActBasicBlock, PreActBottleneck, shortcut_kind

    block = _module(model, block_name)
    if not (callable(getattr(block, "residual", None)) and callable(getattr(block, "identity",
                                                                          None))):
        raise ValueError(f"'{block_name}' is a {type(block).__name__}, not a residual block; "
                         f"blocks: {', '.join(block_names(model)[:6])}, ...")
    post_act = not isinstance(block, (PreActBasicBlock, PreActBottleneck))  # those add and return
    x = _as_batch(model, image_tensor)
    got: dict[str, torch.Tensor] = {}
    relu_inputs: list[torch.Tensor] = []
    relu = getattr(block, "relu", None)
    active = {"on": False}

    def pre_hook(_m, inputs):
        active["on"] = True
        got["x"] = inputs[0].detach().clone()

    def relu_hook(_m, inputs):
        if active["on"]:
            relu_inputs.append(inputs[0].detach().clone())  # in-place ReLUs overwrite it next

    def post_hook(_m, _inputs, output):
        got["y"] = output.detach().clone()
        active["on"] = False  # the recomputation below calls the same ReLU again
        raise _Captured

    handles = [block.register_forward_pre_hook(pre_hook), block.register_forward_hook(post_hook)]
    if post_act and isinstance(relu, nn.Module):
        handles.append(relu.register_forward_pre_hook(relu_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            with contextlib.suppress(_Captured):
                model(x)
            bx = got["x"]
            residual = block.residual(bx.clone())
            has_shortcut = getattr(block, "has_shortcut", True)
            shortcut = block.identity(bx.clone()) if has_shortcut else torch.zeros_like(residual)
            total = residual + shortcut
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    y = got["y"]
    # post-activation: the block's last ReLU call acts on the sum; pre-activation returns it
    own = relu_inputs[-1] if post_act and relu_inputs else y
    err = float((total - own).abs().max()) if own.shape == total.shape else float("inf")
    try:
        kind = shortcut_kind(block)
    except AttributeError:
        kind = "identity" if getattr(block, "downsample", None) is None else "projection"
    as_np = lambda t: np.ascontiguousarray(t[0].float().cpu().numpy())
    return BlockDecomposition(block=block_name, shortcut=as_np(shortcut), residual=as_np(residual),
                              total=as_np(total), output=as_np(y), shortcut_kind=kind,
                              final_relu=post_act, max_abs_error=err)


__all__ = ["COLORMAPS", "BlockDecomposition", "FeatureMaps", "LayerRef", "block_decomposition",
           "block_names", "colorize", "colormap_lut", "feature_maps", "layer_names",
           "list_layers", "mosaic", "mosaic_grid", "mosaic_order", "mosaic_tile_mask"]
