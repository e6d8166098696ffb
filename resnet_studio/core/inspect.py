"""Architecture inspector: a per-layer table and a block graph, from meta tensors only.

Nothing here allocates a weight or does real arithmetic: the model is built on the "meta"
device, one forward pass records every module's output shape through hooks, and
torch.utils.flop_counter counts the multiply-adds per module (it counts one MAC as 2 FLOPs).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_studio.core.models.blocks import RESIDUAL_BLOCKS, ZeroPadShortcut, shortcut_kind
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.spec import ArchSpec
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


def _detail(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        k = "x".join(map(str, m.kernel_size))
        g = f", groups {m.groups}" if m.groups > 1 else ""
        return f"{k}, {m.in_channels}→{m.out_channels}, stride {m.stride[0]}{g}"
    if isinstance(m, nn.BatchNorm2d):
        return f"{m.num_features} channels"
    if isinstance(m, nn.MaxPool2d):
        return f"{m.kernel_size}x{m.kernel_size}, stride {m.stride}"
    if isinstance(m, nn.Linear):
        return f"{m.in_features}→{m.out_features}"
    if isinstance(m, ZeroPadShortcut):
        return f"zero-pad {m.cin}→{m.cout}, stride {m.stride}"
    return ""


def _same_shape(x: torch.Tensor) -> torch.Tensor:
    return x


def _leaves(model: nn.Module):
    for name, m in model.named_modules():
        if name and not list(m.children()):
            yield name, m


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


def summarize(spec: ArchSpec, input_shape: Shape | None = None) -> ModelSummary:
    """Per-layer table and block graph for `spec` at `input_shape` (C,H,W), on meta tensors."""
    spec.validate()
    input_shape = tuple(input_shape or spec.default_input)
    check_input(spec, input_shape)
    model = build_model(spec, "meta").eval()

    rows: list[tuple[str, nn.Module, Shape, int]] = []  # (name, module, output shape, MACs)
    io: dict[str, tuple[Shape, Shape]] = {}  # block / stage name -> (in, out)
    names = {m: n for n, m in model.named_modules()}
    counting: dict[int, FlopCounterMode] = {}

    def start_count(mod, inp):
        # Only the modules that do arithmetic run under the flop counter: a global counter
        # decomposes every BatchNorm into reference ops and is 30x slower on ResNet-1202.
        counting[id(mod)] = counter = FlopCounterMode(display=False)
        counter.__enter__()

    def record(mod, inp, out, name):
        counter = counting.pop(id(mod), None)
        macs = 0
        if counter is not None:
            counter.__exit__(None, None, None)
            macs = counter.get_total_flops() // 2  # the counter says 2 FLOPs per multiply-add
        rows.append((name, mod, tuple(out.shape[1:]), macs))

    hooks = []
    for name, m in _leaves(model):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_pre_hook(start_count))
        elif isinstance(m, nn.BatchNorm2d):
            # BatchNorm keeps the shape, and its meta kernel is a slow chain of reference ops
            # (2 of ResNet-1202's 3 seconds): pass the tensor through. Tests compare every shape
            # with a real forward pass.
            m.forward = _same_shape
        hooks.append(m.register_forward_hook(
            lambda mod, inp, out, name=name: record(mod, inp, out, name)))
    for name, m in model.named_modules():
        if isinstance(m, (*RESIDUAL_BLOCKS, nn.Sequential)) and name:
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: io.__setitem__(
                    name, (tuple(inp[0].shape[1:]), tuple(out.shape[1:])))))
    try:
        out = model(torch.empty((1, *input_shape), device="meta"))
    finally:
        for h in hooks:
            h.remove()

    seen: dict[str, int] = {}
    table: list[LayerRow] = []
    for name, mod, shape, macs in rows:
        seen[name] = seen.get(name, 0) + 1
        first = seen[name] == 1
        params = sum(p.numel() for p in mod.parameters() if p.requires_grad) if first else 0
        parts = name.split(".")
        stage = parts[0] if parts[0] in model.stage_names else None
        block = ".".join(parts[:2]) if stage and len(parts) > 2 else None
        table.append(LayerRow(name=name, type=type(mod).__name__, output_shape=shape,
                              params=params, macs=macs, detail=_detail(mod), call=seen[name],
                              block=block, stage=stage))

    graph = _graph(model, spec, input_shape, tuple(out.shape[1:]), table, io, names)
    return ModelSummary(spec=spec, input_shape=input_shape, layers=tuple(table), graph=graph,
                        total_params=sum(r.params for r in table),
                        total_macs=sum(r.macs for r in table), output_shape=tuple(out.shape[1:]))


def _graph(model, spec, input_shape, output_shape, table, io, names) -> BlockGraph:
    by_block: dict[str, list[LayerRow]] = {}
    for r in table:
        by_block.setdefault(r.block, []).append(r)

    def group(pred) -> list[LayerRow]:
        return [r for r in by_block.get(None, []) if pred(r)]

    def node(nid, kind, label, rows, in_shape, out_shape, **kw) -> GraphNode:
        order = list(dict.fromkeys(r.name for r in rows))
        summary = tuple(f"{r.name.rsplit('.', 1)[-1] if kind == 'block' else r.name}: {r.type}"
                        + (f" ({r.detail})" if r.detail else "") for r in rows if r.call == 1)
        return GraphNode(id=nid, kind=kind, label=label, in_shape=in_shape, out_shape=out_shape,
                         params=sum(r.params for r in rows), macs=sum(r.macs for r in rows),
                         layers=tuple(order), summary=summary, **kw)

    stem_rows = group(lambda r: r.stage is None and r.name in ("conv1", "bn1", "relu", "maxpool"))
    nodes = [GraphNode(id="input", kind="input", label="Input", in_shape=input_shape,
                       out_shape=input_shape),
             node("stem", "stem", f"Stem ({spec.stem})", stem_rows, input_shape,
                  stem_rows[-1].output_shape)]
    edges = [GraphEdge("input", "stem", "data", input_shape)]
    stages: list[StageInfo] = []
    prev = "stem"
    prev_shape = stem_rows[-1].output_shape
    for stage_name in model.stage_names:
        block_ids = []
        stage_in = prev_shape
        for idx, blk in enumerate(getattr(model, stage_name)):
            bid = names[blk]
            rows = by_block.get(bid, [])
            bin_, bout = io[bid]
            kind = shortcut_kind(blk)
            nodes.append(node(bid, "block", type(blk).__name__, rows, bin_, bout,
                              stage=stage_name, index=idx, shortcut=kind))
            edges.append(GraphEdge(prev, bid, "data", bin_))
            edges.append(GraphEdge(prev, bid, "shortcut", bin_, shortcut=kind))
            block_ids.append(bid)
            prev, prev_shape = bid, bout
        stage_nodes = [n for n in nodes if n.id in block_ids]
        stages.append(StageInfo(name=stage_name, blocks=tuple(block_ids), in_shape=stage_in,
                                out_shape=prev_shape, params=sum(n.params for n in stage_nodes),
                                macs=sum(n.macs for n in stage_nodes)))
    head_rows = group(lambda r: r.stage is None and r.name not in ("conv1", "bn1", "relu",
                                                                     "maxpool"))
    nodes.append(node("head", "head", "Head", head_rows, prev_shape, output_shape))
    nodes.append(GraphNode(id="output", kind="output", label=f"{spec.num_classes} classes",
                           in_shape=output_shape, out_shape=output_shape))
    edges += [GraphEdge(prev, "head", "data", prev_shape),
              GraphEdge("head", "output", "data", output_shape)]
    return BlockGraph(nodes=tuple(nodes), edges=tuple(edges), stages=tuple(stages))
