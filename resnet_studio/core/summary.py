"""What the inspector reports: plain dataclasses (no torch), shared by the GUI, CLI and tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from resnet_studio.core.spec import ArchSpec

Shape = tuple[int, ...]


class InputTooSmall(ValueError):
    """An input the model cannot take: not C,H,W, the wrong channels, or smaller than its
    downsampling allows."""


@dataclass(frozen=True)
class LayerRow:
    """One call of one leaf module. Shapes are per image (no batch dimension)."""

    name: str  # qualified module name, e.g. "layer1.0.conv1"
    type: str  # module class, e.g. "Conv2d"
    output_shape: Shape
    params: int  # trainable parameters (counted on the first call only)
    macs: int  # multiply-accumulates of this call
    detail: str = ""  # "3x3, 64→64, stride 2"
    call: int = 1  # modules such as ReLU run several times in a block
    block: str | None = None  # "layer1.0" when the layer sits in a residual block
    stage: str | None = None  # "layer1"
    # Receptive field of one output pixel (input pixels per side), its effective stride and
    # the centre of output pixel 0 in input pixels (core/receptive_field.py); None after the
    # global pooling, whose output sees the whole input.
    rf: int | None = None
    jump: int | None = None
    rf_start: float | None = None


@dataclass(frozen=True)
class GraphNode:
    id: str  # "input", "stem", "layer2.0", "head", "output"
    kind: str  # input | stem | block | head | output
    label: str  # "BasicBlock" / "Stem" ...
    in_shape: Shape
    out_shape: Shape
    params: int = 0
    macs: int = 0
    stage: str | None = None  # blocks only: "layer2"
    index: int | None = None  # blocks only: position in the stage
    shortcut: str | None = None  # blocks only: identity | zero_pad | projection | none
    layers: tuple[str, ...] = ()  # row names inside this node, in call order (deduplicated)
    summary: tuple[str, ...] = ()  # one line per inner layer, for the expanded view


@dataclass(frozen=True)
class GraphEdge:
    src: str
    dst: str
    kind: str  # "data" | "shortcut"
    shape: Shape  # the tensor the edge carries
    shortcut: str | None = None  # for kind == "shortcut": identity | zero_pad | projection | none


@dataclass(frozen=True)
class StageInfo:
    name: str  # "layer1"
    blocks: tuple[str, ...]  # node ids
    in_shape: Shape
    out_shape: Shape
    params: int
    macs: int


@dataclass(frozen=True)
class BlockGraph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    stages: tuple[StageInfo, ...]
    shortcut_scale: float = 1.0  # α of every shortcut: y = F(x) + α·shortcut(x)

    def node(self, node_id: str) -> GraphNode:
        return next(n for n in self.nodes if n.id == node_id)

    def node_of_layer(self, layer_name: str) -> str | None:
        """The node (block, stem or head) that owns a table row, for selection sync."""
        for n in self.nodes:
            if layer_name in n.layers:
                return n.id
        return None


@dataclass(frozen=True)
class ModelSummary:
    spec: ArchSpec
    input_shape: Shape
    layers: tuple[LayerRow, ...]
    graph: BlockGraph
    total_params: int
    total_macs: int
    output_shape: Shape = field(default=())

    def rows_of(self, node_id: str) -> list[LayerRow]:
        names = set(self.graph.node(node_id).layers)
        return [r for r in self.layers if r.name in names]

    def to_dict(self) -> dict:
        return {
            "model": self.spec.name,
            "spec": self.spec.to_dict(),
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "layers": [_listify(asdict(r)) for r in self.layers],
            "graph": {
                "nodes": [_listify(asdict(n)) for n in self.graph.nodes],
                "edges": [_listify(asdict(e)) for e in self.graph.edges],
                "stages": [_listify(asdict(s)) for s in self.graph.stages],
            },
        }


def _listify(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
