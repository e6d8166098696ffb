"""Shortcut strength α at initialisation: the Gradients tab's slider and `resnet-studio
gradients MODEL --alpha 0,0.25,0.5,1`, over `core.analysis.shortcut_strength`.

* `AlphaDial` -- the tab's slider: one request's net kept at its initial weights and batch, the
  plain twin measured once; each α is one forward + backward, returned as the same
  `InitMeasurement` `measure_at_init` gives for that α (its request's spec carries the α).
* `measure_alphas` -- one profile per α for the command; `alphas_json` / `alphas_csv` print it.

Importing this module does not import torch.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from resnet_studio.app.gradients import (
    InitMeasurement,
    InitRequest,
    csv_text,
    measure_at_init,
    measured_spec,
)
from resnet_studio.core.common.progress import Progress

if TYPE_CHECKING:
    from resnet_studio.core.analysis.shortcut_strength import AlphaProfile, ShortcutDial
    from resnet_studio.core.spec import ArchSpec


def parse_alphas(text: str) -> list[float]:
    """"0,0.25,0.5,1" -> [0.0, 0.25, 0.5, 1.0]; ValueError naming the bad item."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"--alpha: {part!r} is not a number (give e.g. 0,0.25,0.5,1)") \
                from None
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"--alpha: {part} is outside 0 (plain) … 1 (residual)")
        out.append(value)
    return out


def base_request(request: InitRequest) -> InitRequest:
    """The request at α = 1: every α of one dial shares it."""
    return replace(request, spec=replace(request.spec, shortcut_scale=1.0))



def measure_with_dial(request: InitRequest, progress: Progress | None = None, *,
                      dial: AlphaDial | None = None) -> InitMeasurement:
    """`measure_at_init`, through `dial` when it keeps this request's net and batch at some α
    (the Gradients tab's slider: a new α costs one forward + backward); the numbers are the
    same either way, and a dial of another request is not used."""
    if dial is not None and dial.answers(request):
        return dial.measure(request.spec.shortcut_scale, progress)
    return measure_at_init(request, progress)


class AlphaDial:
    """The slider's measurements for one request (at any α): built on first use, in whatever
    thread measures first; later calls take turns on the one model (a lock)."""

    def __init__(self, request: InitRequest):
        self.request = base_request(request)
        self._dial: ShortcutDial | None = None
        self._plain: tuple[Any, list[str]] | None = None
        self._lock = threading.Lock()

    def answers(self, request: InitRequest) -> bool:
        """Whether `request` is this dial's at some α (a residual net's)."""
        return not request.spec.plain and base_request(request) == self.request

    def ready(self) -> ShortcutDial:
        from resnet_studio.core.analysis.shortcut_strength import ShortcutDial

        with self._lock:
            if self._dial is None:
                spec, batch = measured_spec(self.request)
                self._dial = ShortcutDial(spec, seed=self.request.seed, batch_size=batch,
                                          input_shape=self.request.input_shape)
                if self.request.compare_plain:
                    self._plain = self._dial.plain_twin()
            return self._dial

    def measure(self, alpha: float, progress: Progress | None = None) -> InitMeasurement:
        """The request at shortcut strength `alpha`, as `measure_at_init` reports it."""
        from resnet_studio.core.analysis.gradients import GradientReport, attach_plain

        progress = Progress.of(progress)
        start = time.perf_counter()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"shortcut α must be between 0 and 1, got {alpha:g}")
        progress(0, 1, f"measuring α = {alpha:g}")
        dial = self.ready()
        net = dial.measure(alpha, progress)
        spec = replace(dial.spec, shortcut_scale=float(alpha))
        report = GradientReport(spec=spec.to_dict(), input_shape=tuple(dial.images.shape[1:]),
                                batch_size=len(dial.images), seed=dial.seed,
                                batch_source=dial.batch_source, net=net)
        report.verdicts.append(f"{net.label}: {net.verdict}")
        if self._plain is not None:
            attach_plain(report, *self._plain)
        progress(1, 1, "measured")
        request = replace(self.request, spec=replace(self.request.spec,
                                                     shortcut_scale=float(alpha)))
        return InitMeasurement(request=request, report=report,
                               seconds=time.perf_counter() - start)


# -- the command: one profile per α -----------------------------------------------------------

@dataclass
class AlphaSweep:
    spec: ArchSpec  # as measured (at α = 1)
    batch_source: str
    profiles: list[AlphaProfile]


def measure_alphas(request: InitRequest, alphas: list[float],
                   progress: Progress | None = None) -> AlphaSweep:
    """One profile per α of `request`'s net at initialisation (same weights, same batch)."""
    from resnet_studio.core.analysis.shortcut_strength import alpha_profiles

    if request.compare_plain:
        raise ValueError("--alpha and --compare-plain: α = 0 is the plain twin (the same "
                         "weights, the same batch); add 0 to --alpha instead")
    if not alphas:
        raise ValueError("--alpha: give at least one value, e.g. 0,0.25,0.5,1")
    spec, batch = measured_spec(base_request(request))
    dial, profiles = alpha_profiles(spec, alphas, seed=request.seed, batch_size=batch,
                                    input_shape=request.input_shape, progress=progress)
    return AlphaSweep(spec=dial.spec, batch_source=dial.batch_source, profiles=profiles)


def alphas_json(sweep: AlphaSweep) -> str:
    """{"spec", "batch_source", "profiles": [{"alpha", ...the NetGradients fields}]}."""
    from dataclasses import asdict

    from resnet_studio.core.analysis.gradients import _jsonable

    return json.dumps(_jsonable({"spec": sweep.spec.to_dict(), "batch_source": sweep.batch_source,
                                 "profiles": [{"alpha": p.alpha, **asdict(p.net)}
                                              for p in sweep.profiles]}), indent=1)


def alphas_csv(sweep: AlphaSweep) -> str:
    """The long format: one row per α and conv or block quantity."""
    rows: list[list[Any]] = [["alpha", "kind", "name", "depth", "value"]]
    for p in sweep.profiles:
        for c in p.net.convs:
            rows.append([p.alpha, "conv_weight_grad_norm", c.name, c.depth, c.weight_grad_norm])
        for kind, attr in (("block_input_grad_norm", "input_grad_norm"),
                           ("block_response_std", "response_std")):
            for b in p.net.blocks:
                rows.append([p.alpha, kind, b.id, b.depth, getattr(b, attr)])
    return csv_text(rows)


__all__ = ["AlphaDial", "AlphaSweep", "alphas_csv", "alphas_json", "base_request",
           "measure_alphas", "measure_with_dial", "parse_alphas"]
