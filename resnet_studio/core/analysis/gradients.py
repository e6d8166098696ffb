"""Gradients and signal propagation through depth, measured with one forward + backward pass.

For a model and one batch (random N(0, 1) images with random labels by default, a pure function
of the seed), with cross-entropy loss and the model in train mode (BatchNorm normalising with the
batch's own statistics, as at initialisation):

* per convolution: the norm of the weight gradient ‖∂L/∂W‖ (qualified name, depth index, block);
* per block: the norm of the gradient at the block's input ‖∂L/∂x‖ (autograd on the captured
  input tensor, not finite differences);
* per block: the standard deviation of the residual branch's response after its last BN and
  before the addition (He et al. 2015, Fig. 7); for pre-activation blocks, the branch output
  (the last conv's output, which is what gets added);
* the first-to-last ratio: first conv's weight-gradient norm ÷ last conv's (the stem conv and the
  last conv of the last block; shortcut projections and the fc layer are not part of it), and a
  plain-language verdict (thresholds below).

With ``compare_plain=True`` the plain twin (every shortcut removed) is measured too, with the
same weights wherever the shapes allow (the residual model's state_dict is loaded into the twin
with ``strict=False``: only projection-shortcut weights have no counterpart) and on the same
batch; the report then carries both and the per-depth ratio strip plain ÷ residual.

What one sees: with BatchNorm and Kaiming init the plain stack's gradients *explode* towards the
input (first-to-last ratio on one batch of 128 random 32x32 images: plain-56 ≈ 8e3, ResNet-56
≈ 33), as Yang et al. 2019 ("A Mean Field Theory of Batch Normalization") predict for deep
batch-normalised stacks without shortcuts. Note that at initialisation, with BatchNorm in
batch-statistics mode, every block's response after its last BN has std ≈ 1 by construction; the
Fig. 7 contrast (smaller responses in ResNets) needs trained weights (pass ``model=``) or the
no-BN regime (``spec.norm == "none"``).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resnet_studio.core.inspect import check_input
from resnet_studio.core.models.blocks import PreActBlock, shortcut_kind
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.spec import ArchSpec

# The verdict reads the first-to-last ratio r (or 1/r when gradients shrink towards the input):
HEALTHY_BAND = 10.0  # r within [1/10, 10]: "healthy" -- the early layers learn at a similar pace
EXTREME_BAND = 1000.0  # beyond 1000x either way: "exploding" / "vanishing"
# in between: "growing" / "shrinking" -- trainable, but early and late layers learn at different
# paces (ResNet-56 at init, ≈ 33x, lands here; plain-56, ≈ 8e3x, is "exploding").

STATUSES = ("healthy", "growing", "shrinking", "exploding", "vanishing", "non-finite")


# -- records ---------------------------------------------------------------------------------

class Column:
    """A read-only numpy view of one field over a record's list of records, e.g.
    `conv_depths = Column("main_convs", "depth", np.int64)` on `NetGradients`."""

    def __init__(self, records: str, field_name: str, dtype: type = np.float64):
        self.records, self.field_name, self.dtype = records, field_name, dtype

    def __get__(self, obj: Any, owner: type | None = None) -> np.ndarray:
        if obj is None:
            return self  # type: ignore[return-value]  (the class attribute itself)
        return np.array([getattr(r, self.field_name) for r in getattr(obj, self.records)],
                        dtype=self.dtype)


@dataclass
class ConvGrad:
    name: str  # qualified module name, e.g. "layer2.0.conv1"
    block: str  # "stem", or the block id, e.g. "layer2.0"
    depth: int  # 1-based position on the main path (stem conv = 1); a shortcut conv shares its
    #             block's first depth
    shortcut: bool  # a projection conv on the shortcut path
    weight_grad_norm: float  # ‖∂L/∂W‖₂ over the whole weight tensor
    weight_norm: float  # ‖W‖₂, to read the gradient against


@dataclass
class BlockGrad:
    id: str  # "layer1.0"
    stage: int  # 1-based
    index: int  # 0-based within the stage
    depth: int  # depth index of the block's first conv
    shortcut: str  # identity | zero_pad | projection | none
    input_grad_norm: float  # ‖∂L/∂x‖₂ at the block's input, over the whole batch
    response_std: float  # std of the branch response (after the last BN, before the addition)


@dataclass
class NetGradients:
    """One network's measurement."""

    model: str  # spec name
    plain: bool
    norm: str  # "batch" or "none"
    preact: bool
    layers: int  # the papers' depth (stem conv + block convs + fc)
    loss: float
    convs: list[ConvGrad]
    blocks: list[BlockGrad]
    first_to_last: float  # first conv's weight-grad norm ÷ last conv's
    spread: float  # max ÷ min weight-grad norm over all main-path convs
    input_grad_ratio: float  # ‖∂L/∂x‖ at the first block's input ÷ at the last block's input
    response_growth: float  # response std of the last block ÷ of the first block
    status: str  # one of STATUSES
    verdict: str  # one line, e.g. "gradients grow 8,461× from the last to the first layer: ..."
    detail: str  # one line on ∂L/∂x and the responses (they can disagree with the weight
    #              gradients: without BN the activations' scale enters every weight gradient)
    shortcut_scale: float = 1.0  # α in y = F(x) + α·shortcut(x)

    @property
    def label(self) -> str:
        """The model name, marked when BatchNorm is off or the shortcuts are scaled:
        "resnet56 (no BN)", "resnet56 (α=0.5)"."""
        marks = ([] if self.norm == "batch" else ["no BN"]) + \
            ([] if self.shortcut_scale == 1.0 else [f"α={self.shortcut_scale:g}"])
        return self.model + (f" ({', '.join(marks)})" if marks else "")

    @property
    def main_convs(self) -> list[ConvGrad]:
        return [c for c in self.convs if not c.shortcut]

    # numpy views for plots
    conv_depths = Column("main_convs", "depth", np.int64)
    conv_grad_norms = Column("main_convs", "weight_grad_norm")
    block_depths = Column("blocks", "depth", np.int64)
    input_grad_norms = Column("blocks", "input_grad_norm")
    response_stds = Column("blocks", "response_std")


@dataclass
class RatioPoint:
    depth: int
    name: str  # conv name (conv strip) or block id (block strip)
    ratio: float  # plain ÷ residual


@dataclass
class GradientReport:
    spec: dict[str, Any]  # the measured spec (ArchSpec.to_dict())
    input_shape: tuple[int, int, int]
    batch_size: int
    seed: int
    batch_source: str  # how the batch was made, in words
    net: NetGradients  # the spec as given
    plain: NetGradients | None = None  # its plain twin (compare_plain=True)
    ratio_strip: list[RatioPoint] = field(default_factory=list)  # per conv: plain ÷ net grad norm
    block_ratio_strip: list[RatioPoint] = field(default_factory=list)  # per block: ∂L/∂x ratio
    shared_weights: list[str] = field(default_factory=list)  # state_dict keys copied to the twin
    verdicts: list[str] = field(default_factory=list)

    @property
    def ratio_array(self) -> np.ndarray:
        return np.array([p.ratio for p in self.ratio_strip], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: non-finite floats become None (strict JSON has no NaN/Infinity)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# -- verdicts --------------------------------------------------------------------------------

def format_factor(x: float) -> str:
    """8461.4 -> "8,461"; 4.29e6 -> "4.3e6"; 13.47 -> "13"; 3.38 -> "3.4"; 0.0681 -> "0.068"."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞"
    if x >= 1e5 or 0 < x < 0.01:
        mant, exp = f"{x:.1e}".split("e")
        return f"{mant}e{int(exp)}"
    if x >= 10:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.2f}"
    return f"{x:.2g}"


def classify(ratio: float) -> tuple[str, str]:
    """(status, one-line verdict) for a first-to-last gradient ratio."""
    if not math.isfinite(ratio) or ratio < 0:
        return "non-finite", ("gradients are not finite (overflow or a zero last-layer gradient): "
                              "the signal blew up somewhere in the stack")
    if ratio == 0:
        return "vanishing", "the first layer gets no gradient at all: vanishing"
    grow = ratio >= 1
    factor = ratio if grow else 1 / ratio
    f = format_factor(factor)
    if factor <= HEALTHY_BAND:
        return "healthy", f"gradients stay within a {f}× band from the last to the first layer: healthy"
    verb = "grow" if grow else "shrink"
    if factor <= EXTREME_BAND:
        status = "growing" if grow else "shrinking"
        return status, (f"gradients {verb} {f}× from the last to the first layer: {status} "
                        "(trainable, but early and late layers learn at different paces)")
    status = "exploding" if grow else "vanishing"
    return status, f"gradients {verb} {f}× from the last to the first layer: {status}"


# -- the measurement ---------------------------------------------------------------------------

def iter_blocks(model: nn.Module):
    """(block id, stage 1-based, index, block) in forward order."""
    for s, stage_name in enumerate(model.stage_names, 1):
        for j, blk in enumerate(getattr(model, stage_name)):
            yield f"{stage_name}.{j}", s, j, blk


def response_module(block: nn.Module) -> nn.Module:
    """Where the branch response is read: the last norm (post-activation blocks, before the
    addition) or, for pre-activation blocks, the branch's last conv (its output is what is added)."""
    convs = [m for _, m in block.named_children() if isinstance(m, nn.Conv2d)]
    if isinstance(block, PreActBlock) or not hasattr(block, "last_norm"):
        return convs[-1]
    return block.last_norm()


def conv_layout(model: nn.Module) -> list[tuple[str, str, int, bool, nn.Conv2d]]:
    """(name, block id, depth, is_shortcut, module) for every conv, in registration order."""
    block_of = {}
    for bid, _, _, blk in iter_blocks(model):
        for name, m in blk.named_modules(prefix=bid):
            if isinstance(m, nn.Conv2d):
                block_of[name] = bid
    out = []
    depth = 0
    first_depth: dict[str, int] = {}
    for name, m in model.named_modules():
        if not isinstance(m, nn.Conv2d):
            continue
        bid = block_of.get(name, "stem")
        is_short = bid != "stem" and ".downsample" in name[len(bid):]
        if is_short:
            d = first_depth.get(bid, depth + 1)
        else:
            depth += 1
            d = depth
            first_depth.setdefault(bid, d)
        out.append((name, bid, d, is_short, m))
    # a shortcut conv registered before its block's first main conv gets that conv's depth
    return [(n, b, first_depth.get(b, d) if s else d, s, m) for n, b, d, s, m in out]


@contextmanager
def _train_mode_untouched(model: nn.Module):
    """Train mode for the measurement; mode and BN running statistics restored afterwards."""
    was_training = model.training
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    model.train()
    try:
        yield
    finally:
        with torch.no_grad():
            for k, v in model.named_buffers():
                if k in buffers:
                    v.copy_(buffers[k])
        model.train(was_training)


def measure(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> NetGradients:
    """One forward + backward of `model` (train mode) on a batch; the model is left as it was
    (its .grad fields are not written: torch.autograd.grad returns the gradients instead)."""
    spec: ArchSpec = model.spec
    layout = conv_layout(model)
    blocks = list(iter_blocks(model))
    inputs: dict[str, torch.Tensor] = {}
    stds: dict[str, float] = {}
    handles = []

    def keep_input(bid):
        def hook(_mod, args):
            inputs[bid] = args[0]
        return hook

    def keep_std(bid):
        def hook(_mod, _args, out):
            # read now: a plain block's ReLU later overwrites this tensor in place
            stds[bid] = float(out.detach().float().std())
        return hook

    for bid, _, _, blk in blocks:
        handles.append(blk.register_forward_pre_hook(keep_input(bid)))
        handles.append(response_module(blk).register_forward_hook(keep_std(bid)))
    frozen = [m.weight for *_, m in layout if not m.weight.requires_grad]
    for w in frozen:  # a fine-tuning setup may have frozen some: measure them all the same
        w.requires_grad_(True)
    try:
        with _train_mode_untouched(model), torch.enable_grad():
            logits = model(images)
            loss = F.cross_entropy(logits.float(), labels)
            weights = [m.weight for *_, m in layout]
            block_inputs = [inputs[bid] for bid, *_ in blocks]
            grads = torch.autograd.grad(loss, weights + block_inputs, allow_unused=True)
    finally:
        for h in handles:
            h.remove()
        for w in frozen:
            w.requires_grad_(False)

    def norm(t: torch.Tensor | None) -> float:
        return 0.0 if t is None else float(torch.linalg.vector_norm(t.detach().double()))

    wgrads, igrads = grads[: len(weights)], grads[len(weights):]
    convs = [ConvGrad(name=n, block=b, depth=d, shortcut=s, weight_grad_norm=norm(g),
                      weight_norm=norm(m.weight))
             for (n, b, d, s, m), g in zip(layout, wgrads)]
    first_depth = {}
    for c in convs:
        if not c.shortcut:
            first_depth.setdefault(c.block, c.depth)
    block_recs = [BlockGrad(id=bid, stage=s, index=j, depth=first_depth.get(bid, 0),
                            shortcut=shortcut_kind(blk), input_grad_norm=norm(g),
                            response_std=stds.get(bid, float("nan")))
                  for (bid, s, j, blk), g in zip(blocks, igrads)]
    main = [c.weight_grad_norm for c in convs if not c.shortcut]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.float64(main[0]) / np.float64(main[-1]))
        spread = float(np.float64(max(main)) / np.float64(min(main)))
    if not all(math.isfinite(v) for v in main):
        ratio = spread = float("nan")
    status, verdict = classify(ratio)
    input_ratio = _ratio(block_recs[0].input_grad_norm, block_recs[-1].input_grad_norm)
    growth = _ratio(block_recs[-1].response_std, block_recs[0].response_std)
    detail = (f"∂L/∂x at the block inputs: ×{format_factor(input_ratio)} from the last block to "
              f"the first; branch response std: ×{format_factor(growth)} from the first block to "
              "the last")
    return NetGradients(model=spec.name, plain=spec.plain, norm=spec.norm, preact=spec.preact,
                        layers=spec.depth, loss=float(loss.detach()), convs=convs,
                        blocks=block_recs, first_to_last=ratio, spread=spread,
                        input_grad_ratio=input_ratio, response_growth=growth, status=status,
                        verdict=verdict, detail=detail, shortcut_scale=spec.shortcut_scale)


def random_batch(spec: ArchSpec, batch_size: int = 128,
                 input_shape: tuple[int, int, int] | None = None, seed: int = 0,
                 device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """N(0, 1) images and uniform labels, a pure function of the seed."""
    shape = tuple(input_shape or spec.default_input)
    g = torch.Generator().manual_seed(seed)
    images = torch.randn((batch_size, *shape), generator=g)
    labels = torch.randint(0, spec.num_classes, (batch_size,), generator=g)
    return images.to(device), labels.to(device)


def build_seeded(spec: ArchSpec, seed: int, device: str | torch.device = "cpu") -> nn.Module:
    """The model at initialisation, a pure function of (spec, seed); the global RNG is untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(spec)
    return model.to(device)


def plain_twin_of(model: nn.Module, spec: ArchSpec | None = None) -> tuple[nn.Module, list[str]]:
    """The plain twin with the same weights where shapes allow; returns (twin, shared keys)."""
    spec = spec or model.spec
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[]):
        twin = build_model(spec.plain_twin()).to(device)
    source = model.state_dict()
    result = twin.load_state_dict(source, strict=False)
    missing = set(result.missing_keys)
    shared = [k for k in twin.state_dict() if k in source and k not in missing]
    return twin, shared


def analyze_gradients(spec: ArchSpec, batch: torch.Tensor | tuple | None = None, *,
                      labels: torch.Tensor | None = None, compare_plain: bool = False,
                      seed: int = 0, batch_size: int = 128,
                      input_shape: tuple[int, int, int] | None = None,
                      model: nn.Module | None = None,
                      device: str | torch.device = "cpu") -> GradientReport:
    """Measure gradients and responses through depth for `spec` (see the module docstring).

    batch: None (random N(0,1) images of `input_shape`, default the spec's own, `batch_size` of
    them, with random labels -- all from `seed`), an image tensor (labels from `labels` or random
    from `seed`), or an (images, labels) pair. model: an already built (e.g. trained) model for
    `spec`; by default the model at initialisation, seeded by `seed`. The model's mode, BN
    running statistics and .grad fields are left as they were.
    """
    spec = spec.validate()
    if compare_plain and spec.plain:
        raise ValueError(f"{spec.name} is already a plain network; compare a residual one "
                         "with its plain twin")
    if isinstance(batch, (tuple, list)):
        batch, labels = batch
    if batch is None:
        shape = tuple(input_shape or spec.default_input)
        check_input(spec, shape)
        images, rand_labels = random_batch(spec, batch_size, shape, seed, device)
        source = f"{batch_size} random N(0,1) images {'x'.join(map(str, shape))}, " \
                 f"random labels (seed {seed})"
    else:
        images = batch.to(device, torch.float32)
        g = torch.Generator().manual_seed(seed)
        rand_labels = torch.randint(0, spec.num_classes, (len(images),), generator=g).to(device)
        source = f"{len(images)} given images" + ("" if labels is not None
                                                  else f", random labels (seed {seed})")
    if labels is None:
        labels = rand_labels
    labels = labels.to(device, torch.long)
    if len(images) < 2 and spec.norm == "batch":
        raise ValueError("BatchNorm in train mode needs a batch of at least 2 images")
    if model is None:
        model = build_seeded(spec, seed, device)
    net = measure(model, images, labels)
    report = GradientReport(spec=spec.to_dict(), input_shape=tuple(images.shape[1:]),
                            batch_size=len(images), seed=seed, batch_source=source, net=net)
    report.verdicts.append(f"{net.label}: {net.verdict}")
    if compare_plain:
        twin, shared = plain_twin_of(model, spec)
        attach_plain(report, measure(twin, images, labels), shared)
    return report


def attach_plain(report: GradientReport, plain: NetGradients, shared: list[str]) -> None:
    """Set the plain twin's measurement (same weights, same batch) on `report`, with the
    plain ÷ net ratio strips and the verdicts comparing the two."""
    net = report.net
    report.plain = plain
    report.shared_weights = shared
    report.verdicts.append(f"{plain.label}: {plain.verdict}")
    net_by_name = {c.name: c for c in net.main_convs}
    report.ratio_strip = [RatioPoint(c.depth, c.name, _ratio(c.weight_grad_norm,
                                                            net_by_name[c.name].weight_grad_norm))
                          for c in plain.main_convs if c.name in net_by_name]
    net_blocks = {b.id: b for b in net.blocks}
    report.block_ratio_strip = [RatioPoint(b.depth, b.id, _ratio(b.input_grad_norm,
                                                                net_blocks[b.id].input_grad_norm))
                                for b in plain.blocks if b.id in net_blocks]
    rel = _ratio(plain.first_to_last, net.first_to_last)
    if math.isfinite(rel):
        report.verdicts.append(
            f"the plain twin's first-to-last ratio is {format_factor(rel)}× the "
            f"{'α-scaled' if net.shortcut_scale != 1.0 else 'residual'} net's "
            f"({format_factor(plain.first_to_last)} vs {format_factor(net.first_to_last)}), "
            "same weights, same batch")


def _ratio(a: float, b: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def without_bn(spec: ArchSpec) -> ArchSpec:
    """The same architecture with every BatchNorm removed (the no-BN regime)."""
    return replace(spec, norm="none", zero_init_residual=False)


__all__ = ["EXTREME_BAND", "HEALTHY_BAND", "STATUSES", "BlockGrad", "Column", "ConvGrad",
           "GradientReport", "NetGradients", "RatioPoint", "analyze_gradients", "attach_plain",
           "build_seeded",
           "classify", "conv_layout", "format_factor", "iter_blocks", "measure", "plain_twin_of",
           "random_batch", "response_module", "without_bn"]
