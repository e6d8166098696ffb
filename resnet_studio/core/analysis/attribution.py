"""Attributions: which input pixels a prediction depends on, through Captum.

`attribute(model, x, method, target=..., **params)` runs one of `METHODS` on one C x H x W
(normalised) image and returns an `AttributionResult` (a C x H x W numpy map, 1 x H x W for
Grad-CAM, the target, the parameters used, the seconds taken and, for Integrated Gradients,
Captum's convergence delta). `noise_tunnel="smoothgrad" | "vargrad"` wraps any method but
occlusion in Captum's `NoiseTunnel`.

Memory is bounded by an internal batch size (`internal_batch_size` for IG,
`perturbations_per_eval` for occlusion, `nt_samples_batch_size` for the noise tunnel). Every
forward pass goes through a counter that calls `progress(done, total, message)` and checks
`should_stop()`: when it returns True, `Cancelled` is raised there, so a cancel takes effect
within one internal batch.

DeepLift, guided backprop, deconvolution and guided Grad-CAM hook the model's ReLU modules; they
run on a copy (`prepare_model`) whose ReLUs are not in place and where a ReLU module called
several times per forward pass (this app's blocks reuse `self.relu`) is split into one module
per call. The caller's model is never changed.

`cascading_randomization(...)` is the sanity check of Adebayo et al. 2018: re-initialise the
network from the head down (fc, layer4, layer3, ...), recompute the map each time and report its
Spearman rank correlation with the original; a method whose maps stay similar after most of the
network is random is flagged.

`heatmap` / `overlay` turn a map into pictures (no Qt).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from resnet_studio.core.analysis.attribution_names import COLORMAPS, METHOD_LABELS, METHODS
from resnet_studio.core.analysis.features import block_names, colormap_lut

NOISE_TUNNELS = ("smoothgrad", "vargrad")
# GradientSHAP is itself a noise tunnel over baselines
NOISE_TUNNEL_METHODS = tuple(m for m in METHODS if m not in ("occlusion", "gradient_shap"))
BASELINES = ("black", "blurred", "noise")
# methods that hook ReLU modules: they run on a prepared copy of the model
COPY_METHODS = ("guided_backprop", "deconvolution", "deeplift", "guided_gradcam")
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "integrated_gradients": {"steps": 50, "baseline": "black", "internal_batch_size": 16,
                             "integration": "gausslegendre", "seed": 0},
    "saliency": {"abs": True},
    "input_x_gradient": {},
    "guided_backprop": {},
    "deconvolution": {},
    "deeplift": {"baseline": "black", "seed": 0},
    "gradient_shap": {"samples": 16, "stdevs": 0.0, "baseline": "black", "seed": 0},
    "occlusion": {"window": 8, "stride": 4, "baseline": "black", "perturbations_per_eval": 16,
                  "seed": 0},
    "layer_gradcam": {"layer": None, "relu": True, "interpolate_mode": "bilinear"},
    "guided_gradcam": {"layer": None, "interpolate_mode": "nearest"},
}
NOISE_TUNNEL_DEFAULTS: dict[str, Any] = {"nt_samples": 10, "nt_stdevs": 0.15,
                                         "nt_batch_size": 5, "seed": 0}
SIGNED_COLORMAPS = ("bwr", "gray")
ABS_COLORMAPS = ("viridis", "hot", "gray")

Progress = Callable[[int, int, str], None]


class Cancelled(Exception):
    """Raised from inside an attribution when `should_stop()` returned True."""


@dataclass
class AttributionResult:
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
        base = METHOD_LABELS.get(self.method, self.method)
        return f"{base} + {self.noise_tunnel}" if self.noise_tunnel else base

    def heatmap(self, *, signed: bool = False, clip_percentile: float = 99.0) -> np.ndarray:
        return heatmap(self.attribution, signed=signed, clip_percentile=clip_percentile)

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


# -- model preparation -------------------------------------------------------------------------

class _PerCallReLU(nn.Module):
    """Stands in for a ReLU module called `n` times per forward pass: the k-th call goes to its
    own `nn.ReLU` child, so hooks that keep per-module state (DeepLift) see each call once."""

    def __init__(self, n: int):
        super().__init__()
        self.relus = nn.ModuleList(nn.ReLU(inplace=False) for _ in range(n))
        self.calls = 0

    def forward(self, x):
        relu = self.relus[self.calls % len(self.relus)]
        self.calls += 1
        return relu(x)


def _reset_calls(module: nn.Module, _inputs) -> None:
    for m in module.modules():
        if isinstance(m, _PerCallReLU):
            m.calls = 0


def prepare_model(model: nn.Module, input_shape: Sequence[int] | None = None) -> nn.Module:
    """A copy of `model` in eval mode whose ReLUs are not in place, with every ReLU module that
    is called more than once per forward pass split into one module per call."""
    twin = copy.deepcopy(model).eval()
    for m in twin.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    shape = tuple(input_shape) if input_shape is not None else _default_shape(twin)
    counts: dict[nn.Module, int] = {}

    def count(module, _inputs):
        counts[module] = counts.get(module, 0) + 1

    relus = [m for m in twin.modules() if isinstance(m, nn.ReLU)]
    handles = [m.register_forward_pre_hook(count) for m in relus]
    try:
        p = next(twin.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
        with torch.no_grad():
            twin(torch.zeros((1, *shape), device=device))
    finally:
        for h in handles:
            h.remove()
    shared = {m: n for m, n in counts.items() if n > 1}
    if shared:
        for parent in list(twin.modules()):
            for name, child in list(parent.named_children()):
                if child in shared:
                    setattr(parent, name, _PerCallReLU(shared[child]))
        twin.register_forward_pre_hook(_reset_calls)
    return twin


def _default_shape(model: nn.Module) -> tuple[int, int, int]:
    spec = getattr(model, "spec", None)
    if spec is not None and getattr(spec, "default_input", None):
        return tuple(spec.default_input)
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return (first.in_channels if first is not None else 3, 64, 64)


def default_layer(model: nn.Module) -> str:
    """The last residual block (or, for other nets, the last conv layer)."""
    blocks = block_names(model)
    if blocks:
        return blocks[-1]
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("this model has no conv layer for Grad-CAM")
    return convs[-1]


def _module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or not name:
        raise KeyError(f"no layer '{name}' in this model (e.g. {', '.join(block_names(model)[-3:])})")
    return modules[name]


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
    """Counts forward passes (one per internal batch), reports progress, raises Cancelled."""

    def __init__(self, total: int, message: str, progress: Progress | None,
                 should_stop: Callable[[], bool] | None):
        self.done, self.total, self.message = 0, max(1, total), message
        self.progress, self.should_stop = progress, should_stop

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled(f"{self.message}: cancelled")

    def step(self) -> None:
        self.check()
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total, self.message)
        self.done += 1

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total, self.message)


def _fill_params(method: str, noise_tunnel: str | None, params: dict) -> dict:
    if method not in METHODS:
        raise ValueError(f"unknown attribution method '{method}' (choose {', '.join(METHODS)})")
    allowed = dict(DEFAULT_PARAMS[method])
    if noise_tunnel is not None:
        if noise_tunnel not in NOISE_TUNNELS:
            raise ValueError(f"unknown noise tunnel '{noise_tunnel}' (choose "
                             f"{', '.join(NOISE_TUNNELS)})")
        if method not in NOISE_TUNNEL_METHODS:
            raise ValueError(f"{method} cannot be wrapped in a noise tunnel")
        allowed.update(NOISE_TUNNEL_DEFAULTS)
    unknown = set(params) - set(allowed)
    if unknown:
        raise ValueError(f"{method} takes no parameter(s) {', '.join(sorted(unknown))} "
                         f"(it takes {', '.join(allowed) or 'none'})")
    allowed.update({k: v for k, v in params.items() if v is not None or k == "layer"})
    return allowed


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
        return ca.LayerGradCam(fwd, _module(model, p["layer"])), {
            "relu_attributions": bool(p["relu"])}
    if method == "guided_gradcam":
        return ca.GuidedGradCam(model, _module(model, p["layer"])), {
            "interpolate_mode": p["interpolate_mode"]}
    raise ValueError(method)


def predicted_class(model: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(x).argmax(dim=1)[0])


def attribute(model: nn.Module, x: torch.Tensor, method: str, *, target: int | str | None = None,
              noise_tunnel: str | None = None, mean: Sequence[float] | None = None,
              std: Sequence[float] | None = None, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None,
              prepared: nn.Module | None = None, **params) -> AttributionResult:
    """One attribution map for one image.

    `x`: C x H x W (or 1 x C x H x W) normalised input; `target`: a class index, or None /
    "pred" for the predicted class; `mean`/`std`: the normalisation, so that the "black"
    baseline is a black image; `prepared`: a `prepare_model(model)` copy to reuse (methods in
    `COPY_METHODS` make one otherwise). Parameters (defaults in `DEFAULT_PARAMS`, plus
    `NOISE_TUNNEL_DEFAULTS` with a noise tunnel) are checked by name. Raises `Cancelled`.
    """
    p = _fill_params(method, noise_tunnel, params)
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
        if method in ("layer_gradcam", "guided_gradcam") and p["layer"] is None:
            p["layer"] = default_layer(model)
        label = METHOD_LABELS[method] + (f" + {noise_tunnel}" if noise_tunnel else "")
        counter = _Counter(_expected_passes(method, p, x), label, progress, should_stop)
        counter.check()
        hook = net.register_forward_pre_hook(lambda *_: counter.step()) \
            if net is not model else None

        def fwd(inp):
            counter.step()
            return model(inp)

        algo, kwargs = _build(method, fwd, net, p)
        if "baseline" in p:
            base = make_baseline(x, p["baseline"], mean=mean, std=std, seed=p.get("seed", 0))
            if method == "occlusion":
                kwargs["baselines"] = base
                kwargs["sliding_window_shapes"] = (x.shape[1], int(p["window"]),
                                                   int(p["window"]))
                kwargs["strides"] = (x.shape[1], int(p["stride"]), int(p["stride"]))
            else:
                kwargs["baselines"] = base
        delta = None
        np_state = np.random.get_state()  # GradientSHAP draws its alphas with numpy
        try:
            with torch.enable_grad(), torch.random.fork_rng(devices=_rng_devices(dev)):
                torch.manual_seed(int(p.get("seed", 0)))
                np.random.seed(int(p.get("seed", 0)))
                if noise_tunnel is not None:
                    import captum.attr as ca

                    out = ca.NoiseTunnel(algo).attribute(
                        x, nt_type=noise_tunnel, nt_samples=int(p["nt_samples"]),
                        nt_samples_batch_size=p["nt_batch_size"], stdevs=float(p["nt_stdevs"]),
                        draw_baseline_from_distrib=method == "gradient_shap", target=target,
                        **kwargs)
                elif method == "integrated_gradients":
                    out, d = algo.attribute(x, target=target, return_convergence_delta=True,
                                            **kwargs)
                    delta = float(d.abs().max())
                else:
                    out = algo.attribute(x, target=target, **kwargs)
        finally:
            np.random.set_state(np_state)
            if hook is not None:
                hook.remove()
        if method == "layer_gradcam":
            import captum.attr as ca

            out = ca.LayerAttribution.interpolate(out, tuple(x.shape[-2:]),
                                                  interpolate_mode=p["interpolate_mode"])
        counter.finish()
    finally:
        model.train(was_training)
    arr = out.detach()[0].float().cpu().numpy()
    return AttributionResult(method=method, target=target, attribution=arr, params=p,
                             seconds=time.perf_counter() - start, delta=delta,
                             noise_tunnel=noise_tunnel, forward_passes=counter.done)


def _rng_devices(dev: torch.device) -> list:
    return [dev] if dev.type == "cuda" else []


# -- sanity check (Adebayo et al. 2018) --------------------------------------------------------

def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two arrays (flattened; ties get their average rank)."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float((ra * ra).sum()) * float((rb * rb).sum()))
    return float((ra * rb).sum() / den) if den > 0 else 0.0


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="mergesort")
    sorted_v = v[order]
    ranks = np.empty(len(v), dtype=np.float64)
    # average ranks over runs of equal values
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    ends = np.r_[starts[1:], len(v)]
    avg = (starts + ends - 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


@dataclass
class SanityStep:
    randomized: str  # the module re-initialised at this step ("fc", "layer4", ...)
    spearman_abs: float  # rank correlation of |map| with the original |map|
    spearman_signed: float  # rank correlation of the signed maps


@dataclass
class SanityReport:
    method: str
    noise_tunnel: str | None
    target: int
    steps: list[SanityStep] = field(default_factory=list)
    threshold: float = 0.8

    @property
    def flagged(self) -> bool:
        """The maps stay similar (rank correlation above `threshold`) after at least half of
        the network was randomised: the method does not depend much on the weights."""
        late = self.steps[len(self.steps) // 2:] if len(self.steps) > 1 else self.steps
        return any(s.spearman_abs > self.threshold for s in late)

    def to_dict(self) -> dict:
        return {"method": self.method, "noise_tunnel": self.noise_tunnel, "target": self.target,
                "threshold": self.threshold, "flagged": self.flagged,
                "steps": [vars(s) for s in self.steps]}


def randomization_order(model: nn.Module) -> list[str]:
    """Top-level modules with parameters, from the head down (fc, layer4, ..., bn1, conv1)."""
    return [n for n, m in reversed(list(model.named_children()))
            if any(True for _ in m.parameters())]


def _reinit(module: nn.Module) -> None:
    for m in module.modules():
        if m is not module or not any(True for _ in m.children()):
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.1)
            nn.init.normal_(m.bias, 0.0, 0.1)


def _map2d(a: np.ndarray, absolute: bool) -> np.ndarray:
    return np.abs(a).sum(0) if absolute else a.sum(0)


def cascading_randomization(model: nn.Module, x: torch.Tensor, method: str, *,
                            target: int | str | None = None, noise_tunnel: str | None = None,
                            layers: Sequence[str] | None = None, threshold: float = 0.8,
                            seed: int = 0, mean: Sequence[float] | None = None,
                            std: Sequence[float] | None = None,
                            progress: Progress | None = None,
                            should_stop: Callable[[], bool] | None = None,
                            **params) -> SanityReport:
    """Re-initialise `layers` (default `randomization_order(model)`) one after another on a
    copy of the model, cumulatively, recomputing the attribution after each."""
    net = copy.deepcopy(model).eval()
    order = list(layers) if layers is not None else randomization_order(net)
    total = len(order) + 1

    def report(i: int, msg: str) -> None:
        if should_stop is not None and should_stop():
            raise Cancelled("sanity check cancelled")
        if progress is not None:
            progress(i, total, msg)

    report(0, "original model")
    base = attribute(net, x, method, target=target, noise_tunnel=noise_tunnel, mean=mean,
                     std=std, should_stop=should_stop, **params)
    out = SanityReport(method=method, noise_tunnel=noise_tunnel, target=base.target,
                       threshold=threshold)
    ref_abs, ref_signed = _map2d(base.attribution, True), _map2d(base.attribution, False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i, name in enumerate(order, 1):
            report(i, f"randomised down to {name}")
            _reinit(_module(net, name))
            r = attribute(net, x, method, target=base.target, noise_tunnel=noise_tunnel,
                          mean=mean, std=std, should_stop=should_stop, **params)
            out.steps.append(SanityStep(
                randomized=name,
                spearman_abs=spearman(ref_abs, _map2d(r.attribution, True)),
                spearman_signed=spearman(ref_signed, _map2d(r.attribution, False))))
    if progress is not None:
        progress(total, total, "sanity check done")
    return out


# -- pictures ----------------------------------------------------------------------------------

def heatmap(attribution: np.ndarray, *, signed: bool = False,
            clip_percentile: float = 99.0) -> np.ndarray:
    """H x W float32: the channel sum (signed, in [-1, 1]) or the sum of |values| (in [0, 1]),
    scaled so that the `clip_percentile` percentile of |values| maps to 1 (clipped above)."""
    a = np.asarray(attribution, dtype=np.float32)
    a = a if a.ndim == 2 else (a.sum(0) if signed else np.abs(a).sum(0))
    mag = np.abs(a)
    scale = float(np.percentile(mag, clip_percentile)) if mag.size else 0.0
    if scale <= 0:
        scale = float(mag.max()) if mag.size else 0.0
    if scale <= 0:
        return np.zeros_like(a)
    out = a / scale
    return np.clip(out, -1.0, 1.0) if signed else np.clip(out, 0.0, 1.0)


def lut(name: str) -> np.ndarray:
    """256 x 3 uint8: viridis, gray, hot (black-red-yellow-white), bwr (blue-white-red)."""
    if name in ("viridis", "gray", "grey"):
        return colormap_lut(name)
    t = np.linspace(0.0, 1.0, 256)
    if name == "hot":
        rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], 1)
    elif name == "bwr":
        rgb = np.stack([np.clip(2 * t, 0, 1), 1 - np.abs(2 * t - 1), np.clip(2 - 2 * t, 0, 1)], 1)
    else:
        raise ValueError(f"unknown colormap '{name}' (choose {', '.join(COLORMAPS)})")
    return (rgb * 255 + 0.5).astype(np.uint8)


def colorize_heatmap(heat: np.ndarray, colormap: str = "viridis",
                     signed: bool = False) -> np.ndarray:
    """H x W in [0, 1] (or [-1, 1] when signed) -> H x W x 3 uint8."""
    v = (heat + 1.0) / 2.0 if signed else heat
    return lut(colormap)[np.clip(np.round(v * 255), 0, 255).astype(np.uint8)]


def overlay(image: np.ndarray | None, heat: np.ndarray, *, colormap: str = "viridis",
            signed: bool = False, opacity: float = 0.6) -> np.ndarray:
    """The coloured heat map blended over `image` (H x W x 3 or H x W uint8, same size). The
    blend is weighted by |heat| too, so zero attribution leaves the image visible."""
    colour = colorize_heatmap(heat, colormap, signed).astype(np.float32)
    if image is None:
        return colour.astype(np.uint8)
    img = np.asarray(image)
    img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
    if img.shape[:2] != heat.shape:
        raise ValueError(f"image {img.shape[:2]} and heat map {heat.shape} differ in size")
    alpha = float(np.clip(opacity, 0.0, 1.0)) * np.clip(np.abs(heat), 0.0, 1.0)[..., None]
    alpha = np.maximum(alpha, 0.15 * float(np.clip(opacity, 0.0, 1.0)))
    out = img.astype(np.float32) * (1 - alpha) + colour * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def preprocessed_image(preprocess, image) -> np.ndarray:
    """The resized, centre-cropped uint8 picture the model saw (for overlays)."""
    return preprocess._crop(image)


__all__ = ["ABS_COLORMAPS", "BASELINES", "COLORMAPS", "COPY_METHODS", "DEFAULT_PARAMS",
           "METHODS", "METHOD_LABELS", "NOISE_TUNNELS", "NOISE_TUNNEL_DEFAULTS",
           "NOISE_TUNNEL_METHODS", "SIGNED_COLORMAPS", "AttributionResult", "Cancelled",
           "SanityReport", "SanityStep", "attribute", "cascading_randomization",
           "colorize_heatmap", "default_layer", "heatmap", "lut", "make_baseline", "overlay",
           "predicted_class", "prepare_model", "preprocessed_image", "randomization_order",
           "spearman"]
