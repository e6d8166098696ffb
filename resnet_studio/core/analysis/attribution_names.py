"""Attribution methods by name: labels, parameters and their defaults, importable without torch
or captum (the window lists them, and the command line offers them, before the heavy imports).

Each method takes the parameters of its `DEFAULT_PARAMS` entry (plus `NOISE_TUNNEL_DEFAULTS`
when wrapped in a noise tunnel); `fill_params` checks a request against them by name.
"""

from __future__ import annotations

from typing import Any

METHODS = ("integrated_gradients", "saliency", "input_x_gradient", "guided_backprop",
           "deconvolution", "deeplift", "gradient_shap", "occlusion", "layer_gradcam",
           "guided_gradcam")
METHOD_LABELS = {"integrated_gradients": "Integrated Gradients", "saliency": "Saliency",
                 "input_x_gradient": "Input × Gradient", "guided_backprop": "Guided Backprop",
                 "deconvolution": "Deconvolution", "deeplift": "DeepLift",
                 "gradient_shap": "GradientSHAP", "occlusion": "Occlusion",
                 "layer_gradcam": "Grad-CAM", "guided_gradcam": "Guided Grad-CAM"}
COLORMAPS = ("viridis", "hot", "bwr", "gray")
SIGNED_COLORMAPS = ("bwr", "gray")
ABS_COLORMAPS = ("viridis", "hot", "gray")

NOISE_TUNNELS = ("smoothgrad", "vargrad")
# GradientSHAP is itself a noise tunnel over baselines
NOISE_TUNNEL_METHODS = tuple(m for m in METHODS if m not in ("occlusion", "gradient_shap"))
BASELINES = ("black", "blurred", "noise")
# methods that hook ReLU modules: they run on a prepared copy of the model
COPY_METHODS = ("guided_backprop", "deconvolution", "deeplift", "guided_gradcam")
GRADCAM_METHODS = ("layer_gradcam", "guided_gradcam")
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


def method_label(method: str, noise_tunnel: str | None = None) -> str:
    """'Integrated Gradients', 'Saliency + smoothgrad'."""
    base = METHOD_LABELS.get(method, method)
    return f"{base} + {noise_tunnel}" if noise_tunnel else base


def accepted_params(method: str, noise_tunnel: str | None = None) -> set[str]:
    """The parameter names `method` takes (with the noise tunnel's when it has one)."""
    return set(DEFAULT_PARAMS[method]) | (set(NOISE_TUNNEL_DEFAULTS) if noise_tunnel else set())


def fill_params(method: str, noise_tunnel: str | None, params: dict) -> dict:
    """Every parameter `method` takes, the defaults filled in; ValueError for an unknown
    method, noise tunnel or parameter name."""
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
