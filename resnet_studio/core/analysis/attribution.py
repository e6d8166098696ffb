"""Attributions: which input pixels a prediction depends on, through Captum.

`attribute(model, x, method, target=..., **params)` runs one of `METHODS` on one C x H x W
(normalised) image and returns an `AttributionResult` (a C x H x W numpy map, 1 x H x W for
Grad-CAM, the target, the parameters used, the seconds taken and, for Integrated Gradients,
Captum's convergence delta). `noise_tunnel="smoothgrad" | "vargrad"` wraps any method but
occlusion and GradientSHAP in Captum's `NoiseTunnel`.

Memory is bounded by an internal batch size (`internal_batch_size` for IG,
`perturbations_per_eval` for occlusion, `nt_batch_size` for the noise tunnel). Every forward
pass goes through a counter that reports `progress(done, total, text)`; each report is a
cancellation point (`core.common.progress`), so a cancel takes effect within one internal batch.

Methods in `COPY_METHODS` run on `attribution_models.prepare_model`'s copy of the model; the
sanity check lives in `attribution_sanity`, the pictures in `attribution_pictures`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from resnet_studio.core.analysis.attribution_models import (
    default_layer,
    find_layer,
    prepare_model,
)
from resnet_studio.core.analysis.attribution_names import (
    BASELINES,
    COPY_METHODS,
    GRADCAM_METHODS,
    fill_params,
    method_label,
)
from resnet_studio.core.common.progress import Progress, ProgressFn


@dataclass
class AttributionResult:
    """One attribution map and how it was made: plain data (numpy), safe to hand across threads."""

    method: str
    target: int
    attribution: np.ndarray  # C x H x W float32 (1 x H x W for Grad-CAM)
    params: dict[str, Any]  # every parameter used, defaults filled in
    seconds: float
    delta: float | None = None  # IG: Captum's convergence delta (completeness error)
    noise_tunnel: str | None = None
    forward_passes: int = 0  # internal batches run

    @property
    def label(self) -> str:
        return method_label(self.method, self.noise_tunnel)

    def to_dict(self) -> dict:
        """JSON-friendly (the map's shape and statistics, not the map)."""
        a = self.attribution
        return {"method": self.method, "label": self.label, "target": self.target,
                "noise_tunnel": self.noise_tunnel, "params": _jsonable(self.params),
                "seconds": self.seconds, "delta": self.delta,
                "forward_passes": self.forward_passes, "shape": list(a.shape),
                "sum": float(a.sum()), "abs_max": float(np.abs(a).max()) if a.size else 0.0}


def _jsonable(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        out[k] = v if isinstance(v, (int, float, str, bool, type(None))) else \
            list(v) if isinstance(v, (tuple, list)) else str(v)
    return out


# -- baselines ---------------------------------------------------------------------------------

def make_baseline(x: torch.Tensor, kind: str | float, *, mean: Sequence[float] | None = None,
                  std: Sequence[float] | None = None, seed: int = 0) -> torch.Tensor | float:
    """A baseline like `x` (N x C x H x W, normalised): "black" (pixel value 0, i.e. -mean/std
    when the normalisation is given, else 0), "blurred" (a Gaussian blur of x), "noise"
    (uniform random pixels, seeded), or a number."""
    if not isinstance(kind, str):
        return float(kind)
    c = x.shape[1]
    if mean is not None and std is not None:
        m = torch.tensor(list(mean)[:c], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        s = torch.tensor(list(std)[:c], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    else:
        m = s = None
    if kind == "black":
        return torch.zeros_like(x) if m is None else ((0 - m) / s).expand_as(x).contiguous()
    if kind == "blurred":
        from torchvision.transforms.functional import gaussian_blur

        side = min(x.shape[-2:])
        k = max(3, (side // 8) | 1)
        return gaussian_blur(x, [k, k], [k / 3.0, k / 3.0])
    if kind == "noise":
        g = torch.Generator().manual_seed(int(seed))
        u = torch.rand(x.shape, generator=g).to(device=x.device, dtype=x.dtype)
        return u if m is None else (u - m) / s
    raise ValueError(f"unknown baseline '{kind}' (choose {', '.join(BASELINES)} or a number)")


# -- attribution -------------------------------------------------------------------------------

class _Counter:
    """Counts forward passes (one per internal batch) and reports each: a cancellation point."""

    def __init__(self, total: int, text: str, progress: Progress):
        self.done, self.total, self.text = 0, max(1, total), text
        self.progress = progress

    def step(self) -> None:
        self.progress(min(self.done, self.total), self.total, self.text)
        self.done += 1

    def finish(self) -> None:
        self.progress(self.total, self.total, self.text)


def _expected_passes(method: str, p: dict, x: torch.Tensor) -> int:
    nt = math.ceil(p["nt_samples"] / max(1, p["nt_batch_size"] or p["nt_samples"])) \
        if "nt_samples" in p else 1
    if method == "integrated_gradients":
        ibs = p["internal_batch_size"] or p["steps"]
        n = math.ceil(p["steps"] / ibs) * nt + (2 if "nt_samples" not in p else 0)
        return n
    if method == "occlusion":
        h, w = x.shape[-2:]
        win, st = int(p["window"]), int(p["stride"])
        windows = (max(0, h - win) // st + 1) * (max(0, w - win) // st + 1)
        return 1 + math.ceil(windows / max(1, int(p["perturbations_per_eval"])))
    if method == "guided_gradcam":
        return 2 * nt
    return nt


def _build(method: str, fwd: Callable, model: nn.Module, p: dict):
    """The Captum attribution object and the keyword arguments of its `attribute`."""
    import captum.attr as ca

    if method == "integrated_gradients":
        return ca.IntegratedGradients(fwd), {
            "n_steps": int(p["steps"]), "method": p["integration"],
            "internal_batch_size": p["internal_batch_size"]}
    if method == "saliency":
        return ca.Saliency(fwd), {"abs": bool(p["abs"])}
    if method == "input_x_gradient":
        return ca.InputXGradient(fwd), {}
    if method == "guided_backprop":
        return ca.GuidedBackprop(model), {}
    if method == "deconvolution":
        return ca.Deconvolution(model), {}
    if method == "deeplift":
        return ca.DeepLift(model), {}
    if method == "gradient_shap":
        return ca.GradientShap(fwd), {"n_samples": int(p["samples"]),
                                      "stdevs": float(p["stdevs"])}
    if method == "occlusion":
        return ca.Occlusion(fwd), {"perturbations_per_eval": int(p["perturbations_per_eval"])}
    if method == "layer_gradcam":
        return ca.LayerGradCam(fwd, find_layer(model, p["layer"])), {
            "relu_attributions": bool(p["relu"])}
    if method == "guided_gradcam":
        return ca.GuidedGradCam(model, find_layer(model, p["layer"])), {
            "interpolate_mode": p["interpolate_mode"]}
    raise ValueError(method)


def predicted_class(model: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(x).argmax(dim=1)[0])


def attribute(model: nn.Module, x: torch.Tensor, method: str, *, target: int | str | None = None,
              noise_tunnel: str | None = None, mean: Sequence[float] | None = None,
              std: Sequence[float] | None = None,
              progress: Progress | ProgressFn | None = None, text: str | None = None,
              prepared: nn.Module | None = None, **params) -> AttributionResult:
    """One attribution map for one image.

    `x`: C x H x W (or 1 x C x H x W) normalised input; `target`: a class index, or None /
    "pred" for the predicted class; `mean`/`std`: the normalisation, so that the "black"
    baseline is a black image; `progress`: told of every internal batch (under `text`, by
    default the method's label), and the way to cancel; `prepared`: a `prepare_model(model)`
    copy to reuse (methods in `COPY_METHODS` make one otherwise). Parameters (defaults in
    `DEFAULT_PARAMS`, plus `NOISE_TUNNEL_DEFAULTS` with a noise tunnel) are checked by name.
    Raises `Cancelled`.
    """
    p = fill_params(method, noise_tunnel, params)
    progress = Progress.of(progress)
    start = time.perf_counter()
    try:
        dev = next(model.parameters()).device
    except StopIteration:
        dev = torch.device("cpu")
    x = torch.as_tensor(x).to(device=dev, dtype=torch.float32)
    x = (x.unsqueeze(0) if x.ndim == 3 else x[:1]).detach().clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        if target is None or (isinstance(target, str) and target in ("pred", "predicted")):
            target = predicted_class(model, x)
        target = int(target)
        if method in COPY_METHODS:
            net = prepared if prepared is not None else prepare_model(model, x.shape[1:])
        else:
            net = model
        if method in GRADCAM_METHODS and p["layer"] is None:
            p["layer"] = default_layer(model)
        counter = _Counter(_expected_passes(method, p, x), text or method_label(method, noise_tunnel),
                           progress)
        progress.check()
        # the copy's forward passes are counted by a hook; the model's own through `fwd`
        hook = net.register_forward_pre_hook(lambda *_: counter.step()) \
            if net is not model else None

        def fwd(inp):
            counter.step()
            return model(inp)

        try:
            out, delta = _run_captum(method, fwd, net, x, target, noise_tunnel, p, mean, std)
        finally:
            if hook is not None:
                hook.remove()
        counter.finish()
    finally:
        model.train(was_training)
    arr = out.detach()[0].float().cpu().numpy()
    return AttributionResult(method=method, target=target, attribution=arr, params=p,
                             seconds=time.perf_counter() - start, delta=delta,
                             noise_tunnel=noise_tunnel, forward_passes=counter.done)


def _run_captum(method: str, fwd: Callable, net: nn.Module, x: torch.Tensor, target: int,
                noise_tunnel: str | None, p: dict, mean: Sequence[float] | None,
                std: Sequence[float] | None) -> tuple[torch.Tensor, float | None]:
    """The map (1 x C x H x W, Grad-CAM's at the input size) and IG's convergence delta; the
    random parts are seeded with `p["seed"]` without disturbing the caller's generators."""
    import captum.attr as ca

    algo, kwargs = _build(method, fwd, net, p)
    if "baseline" in p:
        kwargs["baselines"] = make_baseline(x, p["baseline"], mean=mean, std=std,
                                            seed=p.get("seed", 0))
    if method == "occlusion":
        kwargs["sliding_window_shapes"] = (x.shape[1], int(p["window"]), int(p["window"]))
        kwargs["strides"] = (x.shape[1], int(p["stride"]), int(p["stride"]))
    delta = None
    np_state = np.random.get_state()  # GradientSHAP draws its alphas with numpy
    try:
        with torch.enable_grad(), torch.random.fork_rng(devices=_rng_devices(x.device)):
            torch.manual_seed(int(p.get("seed", 0)))
            np.random.seed(int(p.get("seed", 0)))
            if noise_tunnel is not None:
                out = ca.NoiseTunnel(algo).attribute(
                    x, nt_type=noise_tunnel, nt_samples=int(p["nt_samples"]),
                    nt_samples_batch_size=p["nt_batch_size"], stdevs=float(p["nt_stdevs"]),
                    target=target, **kwargs)
            elif method == "integrated_gradients":
                out, d = algo.attribute(x, target=target, return_convergence_delta=True,
                                        **kwargs)
                delta = float(d.abs().max())
            else:
                out = algo.attribute(x, target=target, **kwargs)
    finally:
        np.random.set_state(np_state)
    if method == "layer_gradcam":
        out = ca.LayerAttribution.interpolate(out, tuple(x.shape[-2:]),
                                              interpolate_mode=p["interpolate_mode"])
    return out, delta


def _rng_devices(dev: torch.device) -> list:
    return [dev] if dev.type == "cuda" else []
