"""Two models side by side: what differs, block by block, and by how much, stage by stage.

Pure data from two inspector summaries (`core.inspect.summarize`; no torch, no weights).
Stages are aligned by position (layer1 with layer1, whatever their widths), blocks by their
index in the stage; a block only one model has is reported as such ("only in A"). A block pair
differs by its shortcut (added, removed, or another type: identity, zero-pad option A,
projection option B/C), its block type, or the width or groups of a conv of F(x). The totals
come per part, the stem and the head included, with B − A deltas.

The memory column is `activation_bytes`: what one training step saves for the backward pass,
traced on meta tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from resnet_studio.core.inspect import branch_convs
from resnet_studio.core.summary import GraphNode, InputTooSmall, ModelSummary, StageInfo

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec

SHORTCUT_NAMES = {"identity": "identity", "zero_pad": "zero-pad (A)",
                  "projection": "projection", "none": "none"}
DIFF_KINDS = ("shortcut", "type", "width", "groups", "only_a", "only_b")


@dataclass(frozen=True)
class ConvFacts:
    """One conv of a block's residual branch F(x)."""

    out_channels: int
    kernel: int
    stride: int
    groups: int


@dataclass(frozen=True)
class BlockFacts:
    id: str  # "layer2.0"
    label: str  # "BasicBlock", "Bottleneck", ...
    shortcut: str  # identity | zero_pad | projection | none
    convs: tuple[ConvFacts, ...]
    params: int
    macs: int


@dataclass(frozen=True)
class BlockDiff:
    """The index-th block of a stage in both models (one side None: only the other has it)."""

    stage: str
    index: int
    a: BlockFacts | None
    b: BlockFacts | None
    kinds: frozenset[str]  # of DIFF_KINDS; empty when the blocks are alike
    changes: tuple[str, ...]  # one phrase per difference, for people

    @property
    def shortcut_change(self) -> str:
        """"" | "added" | "removed" | "changed" (both sides have a block)."""
        if "shortcut" not in self.kinds:
            return ""
        if self.a.shortcut == "none":
            return "added"
        return "removed" if self.b.shortcut == "none" else "changed"

    def involves(self, shortcut: str) -> bool:
        """Whether either side's shortcut is of this kind (e.g. a projection removed)."""
        return any(f is not None and f.shortcut == shortcut for f in (self.a, self.b))


@dataclass(frozen=True)
class PartTotals:
    blocks: int
    params: int
    macs: int
    memory: int  # bytes: `activation_bytes` of the part


@dataclass(frozen=True)
class PartComparison:
    """One row of the table: the stem, a stage, or the head (None: the model has no such stage)."""

    name: str
    a: PartTotals | None
    b: PartTotals | None
    differing_blocks: int = 0

    def delta(self, field: str) -> int:
        """B − A of params | macs | memory | blocks (a missing part counts as 0)."""
        return sum(sign * getattr(t, field) for sign, t in ((1, self.b), (-1, self.a)) if t)


@dataclass(frozen=True)
class ModelComparison:
    a: ModelSummary
    b: ModelSummary
    parts: tuple[PartComparison, ...]  # stem, layer1..., head
    blocks: tuple[BlockDiff, ...]  # every aligned pair, alike or not, in stage order
    memory_batch: int = 1

    @property
    def names(self) -> tuple[str, str]:
        return self.a.spec.name, self.b.spec.name

    def differing(self) -> list[BlockDiff]:
        return [d for d in self.blocks if d.kinds]

    def counts(self) -> dict[str, int]:
        """Blocks that differ by each kind, and the changed shortcuts that involve a projection."""
        diffs = self.differing()
        out = {kind: sum(kind in d.kinds for d in diffs) for kind in DIFF_KINDS}
        out["projections"] = sum("shortcut" in d.kinds and d.involves("projection")
                                 for d in diffs)
        return out

    def total(self, field: str) -> tuple[int, int]:
        """(A, B) totals of params | macs | memory over every part."""
        return tuple(sum(getattr(t, field) for p in self.parts if (t := getattr(p, side)))
                     for side in ("a", "b"))

    def to_dict(self) -> dict:
        def totals(t: PartTotals | None):
            return None if t is None else {"blocks": t.blocks, "params": t.params,
                                           "macs": t.macs, "memory_bytes": t.memory}

        def facts(f: BlockFacts | None):
            return None if f is None else {
                "id": f.id, "label": f.label, "shortcut": f.shortcut, "params": f.params,
                "macs": f.macs, "convs": [[c.out_channels, c.kernel, c.stride, c.groups]
                                          for c in f.convs]}

        return {
            "a": {"model": self.a.spec.name, "spec": self.a.spec.to_dict(),
                  "input_shape": list(self.a.input_shape)},
            "b": {"model": self.b.spec.name, "spec": self.b.spec.to_dict(),
                  "input_shape": list(self.b.input_shape)},
            "memory": f"activations saved for backward, float32, batch {self.memory_batch}",
            "differences": self.counts(),
            "totals": {f: {"a": ta, "b": tb, "delta": tb - ta}
                       for f in ("params", "macs", "memory") for ta, tb in [self.total(f)]},
            "parts": [{"name": p.name, "a": totals(p.a), "b": totals(p.b),
                       "differing_blocks": p.differing_blocks,
                       "delta": {f: p.delta(f) for f in ("params", "macs", "memory")}}
                      for p in self.parts],
            "blocks": [{"stage": d.stage, "index": d.index, "a": facts(d.a), "b": facts(d.b),
                        "differs_in": sorted(d.kinds), "changes": list(d.changes)}
                       for d in self.blocks],
        }


def check_same_input(a: ArchSpec | ModelSummary, b: ArchSpec | ModelSummary) -> None:
    """InputTooSmall (a ValueError) naming both models when their first convs take different
    channels: no image fits both. Takes specs or summaries."""
    sa, sb = (x.spec if isinstance(x, ModelSummary) else x for x in (a, b))
    if sa.in_channels != sb.in_channels:
        raise InputTooSmall(f"cannot compare {sa.name} with {sb.name}: {sa.name} takes "
                            f"{sa.in_channels}-channel images, {sb.name} {sb.in_channels}-channel "
                            "ones (no input fits both)")


def activation_bytes(summary: ModelSummary, batch_size: int = 1) -> dict[str, int]:
    """Bytes of the activations one float32 training step saves for the backward pass, per
    part (stem, layer1, ..., head) at `batch_size`, traced on meta tensors
    (`core.training_memory`); the input image counts to the stem."""
    from resnet_studio.core.training_memory import training_memory

    memory = training_memory(summary.spec, summary.input_shape, batch_size, summary=summary)
    return memory.by_stage(weights=False)


def block_facts(summary: ModelSummary, node: GraphNode) -> BlockFacts:
    """A block as the comparison sees it: its type, shortcut and the convs of F(x)."""
    spec = summary.spec
    stage = int(node.stage.removeprefix("layer")) - 1
    stride = 2 if node.in_shape[1:] != node.out_shape[1:] else 1
    convs = tuple(ConvFacts(cout, k, s, g) for cout, k, s, _pad, g
                  in branch_convs(spec, node.in_shape[0], spec.widths[stage], stride))
    return BlockFacts(node.id, node.label, node.shortcut or "none", convs, node.params,
                      node.macs)


def diff_blocks(stage: str, index: int, a: BlockFacts | None,
                b: BlockFacts | None) -> BlockDiff:
    if a is None or b is None:
        kind = "only_b" if a is None else "only_a"
        return BlockDiff(stage, index, a, b, frozenset({kind}),
                         (f"only in {'B' if a is None else 'A'}",))
    kinds: set[str] = set()
    changes: list[str] = []
    if a.shortcut != b.shortcut:
        kinds.add("shortcut")
        name_a, name_b = SHORTCUT_NAMES[a.shortcut], SHORTCUT_NAMES[b.shortcut]
        changes.append(f"shortcut added ({name_b})" if a.shortcut == "none" else
                       f"shortcut removed ({name_a})" if b.shortcut == "none" else
                       f"shortcut {name_a} → {name_b}")
    if a.label != b.label or len(a.convs) != len(b.convs):
        kinds.add("type")
        changes.append(f"{a.label} → {b.label}")
    else:
        for i, (ca, cb) in enumerate(zip(a.convs, b.convs), 1):
            parts = []
            if ca.out_channels != cb.out_channels:
                kinds.add("width")
                parts.append(f"width {ca.out_channels} → {cb.out_channels}")
            if ca.groups != cb.groups:
                kinds.add("groups")
                parts.append(f"groups {ca.groups} → {cb.groups}")
            if parts:
                changes.append(f"conv{i} ({ca.kernel}x{ca.kernel}): {', '.join(parts)}")
    return BlockDiff(stage, index, a, b, frozenset(kinds), tuple(changes))


def compare_summaries(a: ModelSummary, b: ModelSummary, memory_batch: int = 1) -> ModelComparison:
    """Align `a` and `b` stage by stage and block by block (see the module doc). Raises
    InputTooSmall when the two models cannot take the same images."""
    check_same_input(a, b)
    stages_a = {s.name: s for s in a.graph.stages}
    stages_b = {s.name: s for s in b.graph.stages}
    names = [f"layer{i + 1}" for i in range(max(len(stages_a), len(stages_b)))]
    mem_a, mem_b = activation_bytes(a, memory_batch), activation_bytes(b, memory_batch)

    def node_totals(summary: ModelSummary, node_id: str, memory: dict) -> PartTotals:
        node = summary.graph.node(node_id)
        return PartTotals(0, node.params, node.macs, memory.get(node_id, 0))

    def stage_totals(stage: StageInfo | None, memory: dict) -> PartTotals | None:
        return stage and PartTotals(len(stage.blocks), stage.params, stage.macs,
                                    memory.get(stage.name, 0))

    blocks: list[BlockDiff] = []
    parts = [PartComparison("stem", node_totals(a, "stem", mem_a), node_totals(b, "stem", mem_b))]
    for name in names:
        sa, sb = stages_a.get(name), stages_b.get(name)
        ids_a, ids_b = (sa.blocks if sa else ()), (sb.blocks if sb else ())
        pairs = [diff_blocks(name, i,
                             block_facts(a, a.graph.node(ids_a[i])) if i < len(ids_a) else None,
                             block_facts(b, b.graph.node(ids_b[i])) if i < len(ids_b) else None)
                 for i in range(max(len(ids_a), len(ids_b)))]
        blocks += pairs
        parts.append(PartComparison(name, stage_totals(sa, mem_a), stage_totals(sb, mem_b),
                                    sum(bool(d.kinds) for d in pairs)))
    parts.append(PartComparison("head", node_totals(a, "head", mem_a), node_totals(b, "head", mem_b)))
    return ModelComparison(a, b, tuple(parts), tuple(blocks), memory_batch)


__all__ = ["BlockDiff", "BlockFacts", "ConvFacts", "ModelComparison", "PartComparison",
           "PartTotals", "activation_bytes", "block_facts", "check_same_input",
           "compare_summaries", "diff_blocks"]
