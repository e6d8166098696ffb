"""Architecture inspector: a per-layer table and a block graph, from the spec's geometry alone.

No module is built and no tensor is made. Building even a meta-device ResNet-1202 (3,600
modules) takes most of a second, while every layer's shape, parameters and multiply-adds follow
from conv/pool arithmetic in microseconds, without importing torch (so the window can show a
model before PyTorch has loaded). The walk mirrors `core/models`: torchvision's child names, the
forward order of each block (`blocks.py`), the stem and head of `builder.py`. Tests hold the two
together: for every preset and for random specs, each row equals hooks on a real forward pass
(names, call order, shapes), the parameters equal the built model's, and the multiply-adds equal
`torch.utils.flop_counter`'s count (which says 2 FLOPs per multiply-add).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from resnet_studio.core.common.budget import HINT, BudgetError, checks_enabled
from resnet_studio.core.receptive_field import Field
from resnet_studio.core.spec import ArchSpec, SpecError
from resnet_studio.core.summary import (
    BlockGraph,
    GraphEdge,
    GraphNode,
    InputTooSmall,
    LayerRow,
    ModelSummary,
    Shape,
    StageInfo,
)

BLOCK_LABELS = {(False, "basic"): "BasicBlock", (False, "bottleneck"): "Bottleneck",
                (True, "basic"): "PreActBasicBlock", (True, "bottleneck"): "PreActBottleneck"}
STEM_LAYERS = ("conv1", "bn1", "relu", "maxpool")
# Six to ten table rows per block: ResNet-1202's 600 blocks take 20 ms. A spec allows 1,000
# blocks per stage (6,000 in all, core/spec.py LIMITS); past five ResNet-1202s the user says
# they mean it (--no-memory-check), as building and training such a net takes gigabytes.
MAX_BLOCKS = 3_000


class TooManyBlocks(SpecError, BudgetError):
    """More blocks than the app inspects or builds (a SpecError on `layers` for the form)."""


def check_size(spec: ArchSpec) -> None:
    """Refuse a spec with more than MAX_BLOCKS blocks, at once (unless checks are off)."""
    blocks = sum(spec.layers)
    if blocks > MAX_BLOCKS and checks_enabled():
        stages = f" ({' + '.join(f'{n:,}' for n in spec.layers)})" if len(spec.layers) > 1 else ""
        raise TooManyBlocks("layers", f"{blocks:,} blocks{stages} are more than the "
                            f"{MAX_BLOCKS:,} this app inspects and builds (ResNet-1202 has 600); "
                            f"use fewer blocks per stage, or {HINT}")


def check_input(spec: ArchSpec, input_shape: Shape) -> None:
    if len(input_shape) != 3:
        raise InputTooSmall("input must be C,H,W (three numbers), e.g. 3,224,224")
    c, h, w = input_shape
    if c != spec.in_channels:
        raise InputTooSmall(f"input has {c} channels but the model's first conv expects "
                            f"{spec.in_channels}")
    side = spec.min_input_side
    if min(h, w) < side:
        stem = "an ImageNet" if spec.stem == "imagenet" else "a CIFAR"
        raise InputTooSmall(f"input {h}x{w} is too small: {len(spec.layers)} stages with {stem} "
                            f"stem need at least {side}x{side}")


@dataclass
class _Walk:
    """The rows of one forward pass, in call order, as the forward hooks would record them."""

    norm: str
    rows: list[LayerRow] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    prefix: str = ""  # "layer2.0." inside a block
    block: str | None = None
    stage: str | None = None
    sees: Field | None = Field()  # what the next layer's input sees; None: the whole input

    def add(self, name: str, type_: str, shape: Shape, params: int = 0, macs: int = 0,
            detail: str = "") -> Shape:
        name = self.prefix + name
        call = self.calls[name] = self.calls.get(name, 0) + 1
        seen = (None, None, None) if self.sees is None else \
            (self.sees.size, self.sees.jump, self.sees.start)
        self.rows.append(LayerRow(name=name, type=type_, output_shape=shape,
                                  params=params if call == 1 else 0, macs=macs, detail=detail,
                                  call=call, block=self.block, stage=self.stage, rf=seen[0],
                                  jump=seen[1], rf_start=seen[2]))
        return shape

    def conv(self, name: str, x: Shape, cout: int, k: int, stride: int = 1, pad: int = 0,
             groups: int = 1) -> Shape:
        cin, h, w = x
        out = (cout, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1)
        per_output = cin // groups * k * k
        g = f", groups {groups}" if groups > 1 else ""
        self.sees = self.sees.conv(k, stride, pad)
        return self.add(name, "Conv2d", out, params=cout * per_output,
                        macs=out[0] * out[1] * out[2] * per_output,
                        detail=f"{k}x{k}, {cin}→{cout}, stride {stride}{g}")

    def bn(self, name: str, x: Shape) -> Shape:
        if self.norm != "batch":  # norm="none": an nn.Identity in its place
            return self.add(name, "Identity", x)
        return self.add(name, "BatchNorm2d", x, params=2 * x[0], detail=f"{x[0]} channels")

    def relu(self, name: str, x: Shape) -> Shape:
        return self.add(name, "ReLU", x)


def branch_convs(spec: ArchSpec, cin: int, planes: int, stride: int) -> list[tuple]:
    """(cout, kernel, stride, padding, groups) of F's convs, as `blocks.branch_convs`."""
    if spec.block == "basic":
        return [(planes, 3, stride, 1, 1), (planes, 3, 1, 1, 1)]
    width = int(planes * (spec.width_per_group / 64.0)) * spec.groups
    return [(width, 1, 1, 0, 1), (width, 3, stride, 1, spec.groups),
            (planes * spec.expansion, 1, 1, 0, 1)]


def _shortcut(spec: ArchSpec, cin: int, cout: int, stride: int) -> str:
    """identity | zero_pad | projection | none, as `blocks.make_shortcut` builds it."""
    if spec.shortcut == "none":
        return "none"
    if spec.shortcut in ("A", "B") and stride == 1 and cin == cout:
        return "identity"
    return "zero_pad" if spec.shortcut == "A" else "projection"


def _downsample(walk: _Walk, spec: ArchSpec, kind: str, x: Shape, cout: int, stride: int,
                seen: Field) -> None:
    """The shortcut's rows, from the block input's field `seen`; leaves the sum's field (the
    union of the main path's and the shortcut's) in `walk.sees`."""
    main, walk.sees = walk.sees, seen
    if kind == "zero_pad":  # x[:, :, ::s, ::s] sees like a 1x1 conv of stride s
        walk.sees = seen.conv(1, stride)
        h, w = (x[1] + stride - 1) // stride, (x[2] + stride - 1) // stride
        walk.add("downsample", "ZeroPadShortcut", (cout, h, w),
                 detail=f"zero-pad {x[0]}→{cout}, stride {stride}")
    elif kind == "projection":
        out = walk.conv("downsample.0", x, cout, 1, stride)
        if not spec.preact:  # pre-activation projections have no BN of their own
            walk.bn("downsample.1", out)
    walk.sees = main if kind == "none" else main.union(walk.sees)


def _block(walk: _Walk, spec: ArchSpec, x: Shape, planes: int, stride: int) -> tuple[Shape, str]:
    """Rows of one block's forward; its output shape and shortcut kind."""
    convs = branch_convs(spec, x[0], planes, stride)
    cout = convs[-1][0]
    kind = _shortcut(spec, x[0], cout, stride)
    seen = walk.sees
    if spec.preact:  # bn1 relu conv1, then bn<i> relu conv<i>; the shortcut after the branch
        out = walk.relu("relu", walk.bn("bn1", x))
        pre = out
        for i, conv in enumerate(convs, 1):
            if i > 1:
                out = walk.relu("relu", walk.bn(f"bn{i}", out))
            out = walk.conv(f"conv{i}", out, *conv)
        _downsample(walk, spec, kind, x if kind == "zero_pad" else pre, cout, stride, seen)
        return out, kind
    out = x
    for i, conv in enumerate(convs, 1):  # conv-BN(-ReLU) ..., shortcut, ReLU after the add
        out = walk.bn(f"bn{i}", walk.conv(f"conv{i}", out, *conv))
        if i < len(convs):
            out = walk.relu("relu", out)
    _downsample(walk, spec, kind, x, cout, stride, seen)
    return walk.relu("relu", out), kind


def summarize(spec: ArchSpec, input_shape: Shape | None = None) -> ModelSummary:
    """Per-layer table and block graph for `spec` at `input_shape` (C,H,W)."""
    spec.validate()
    check_size(spec)
    input_shape = tuple(input_shape or spec.default_input)
    check_input(spec, input_shape)
    walk = _Walk(spec.norm)
    imagenet = spec.stem == "imagenet"
    x = walk.conv("conv1", input_shape, spec.widths[0], 7 if imagenet else 3, 2 if imagenet else 1,
                  3 if imagenet else 1)
    if not (spec.preact and not imagenet):  # a pre-activation CIFAR net has no stem BN
        x = walk.relu("relu", walk.bn("bn1", x))
    if imagenet:
        walk.sees = walk.sees.conv(3, 2, 1)
        x = walk.add("maxpool", "MaxPool2d", (x[0], (x[1] - 1) // 2 + 1, (x[2] - 1) // 2 + 1),
                     detail="3x3, stride 2")
    stem_out = x
    stages: list[tuple[str, list[tuple[str, Shape, Shape, str]]]] = []
    for i, (planes, count) in enumerate(zip(spec.widths, spec.layers)):
        stage = f"layer{i + 1}"
        blocks = []
        for j in range(count):
            bid = f"{stage}.{j}"
            walk.prefix, walk.block, walk.stage = bid + ".", bid, stage
            out, kind = _block(walk, spec, x, planes, 2 if (i > 0 and j == 0) else 1)
            blocks.append((bid, x, out, kind))
            x = out
        stages.append((stage, blocks))
    walk.prefix, walk.block, walk.stage = "", None, None
    if spec.preact:
        x = walk.add("final_relu", "ReLU", walk.bn("final_bn", x))
    walk.sees = None
    x = walk.add("avgpool", "AdaptiveAvgPool2d", (x[0], 1, 1))
    out = walk.add("fc", "Linear", (spec.num_classes,), params=(x[0] + 1) * spec.num_classes,
                   macs=x[0] * spec.num_classes, detail=f"{x[0]}→{spec.num_classes}")
    table = walk.rows
    graph = _graph(spec, input_shape, stem_out, out, table, stages)
    return ModelSummary(spec=spec, input_shape=input_shape, layers=tuple(table), graph=graph,
                        total_params=sum(r.params for r in table),
                        total_macs=sum(r.macs for r in table), output_shape=out)


def _graph(spec: ArchSpec, input_shape: Shape, stem_out: Shape, output_shape: Shape,
           table: list[LayerRow], stages) -> BlockGraph:
    by_block: dict[str | None, list[LayerRow]] = {}
    for r in table:
        by_block.setdefault(r.block, []).append(r)

    def node(nid, kind, label, rows, in_shape, out_shape, **kw) -> GraphNode:
        order = list(dict.fromkeys(r.name for r in rows))
        summary = tuple(f"{r.name.rsplit('.', 1)[-1] if kind == 'block' else r.name}: {r.type}"
                        + (f" ({r.detail})" if r.detail else "") for r in rows if r.call == 1)
        return GraphNode(id=nid, kind=kind, label=label, in_shape=in_shape, out_shape=out_shape,
                         params=sum(r.params for r in rows), macs=sum(r.macs for r in rows),
                         layers=tuple(order), summary=summary, **kw)

    outside = by_block.get(None, [])
    stem_rows = [r for r in outside if r.name in STEM_LAYERS]
    head_rows = [r for r in outside if r.name not in STEM_LAYERS]
    label = BLOCK_LABELS[(spec.preact, spec.block)]
    nodes = [GraphNode(id="input", kind="input", label="Input", in_shape=input_shape,
                       out_shape=input_shape),
             node("stem", "stem", f"Stem ({spec.stem})", stem_rows, input_shape, stem_out)]
    edges = [GraphEdge("input", "stem", "data", input_shape)]
    infos: list[StageInfo] = []
    prev, prev_shape = "stem", stem_out
    for stage, blocks in stages:
        stage_in = prev_shape
        stage_nodes = []
        for idx, (bid, bin_, bout, kind) in enumerate(blocks):
            n = node(bid, "block", label, by_block.get(bid, []), bin_, bout, stage=stage,
                     index=idx, shortcut=kind)
            stage_nodes.append(n)
            edges.append(GraphEdge(prev, bid, "data", bin_))
            edges.append(GraphEdge(prev, bid, "shortcut", bin_, shortcut=kind))
            prev, prev_shape = bid, bout
        nodes += stage_nodes
        infos.append(StageInfo(name=stage, blocks=tuple(n.id for n in stage_nodes),
                               in_shape=stage_in, out_shape=prev_shape,
                               params=sum(n.params for n in stage_nodes),
                               macs=sum(n.macs for n in stage_nodes)))
    nodes.append(node("head", "head", "Head", head_rows, prev_shape, output_shape))
    nodes.append(GraphNode(id="output", kind="output", label=f"{spec.num_classes} classes",
                           in_shape=output_shape, out_shape=output_shape))
    edges += [GraphEdge(prev, "head", "data", prev_shape),
              GraphEdge("head", "output", "data", output_shape)]
    return BlockGraph(nodes=tuple(nodes), edges=tuple(edges), stages=tuple(infos),
                      shortcut_scale=spec.shortcut_scale)
