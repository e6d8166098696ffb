"""Small models and data the tests share: a net trains in a second at one thread."""

from resnet_studio.core.spec import ArchSpec

# 8 layers, 3 stages of one basic block, option A shortcuts: the smallest CIFAR-shaped ResNet.
TINY = ArchSpec(name="tiny", layers=(1, 1, 1), widths=(8, 16, 32), stem="cifar", shortcut="A",
                num_classes=10)
TINY_DATA = "synthetic:size=8,train=256,val=64"
SMALL_DATA = "synthetic:size=8,train=128,val=32"


def cifar_net(layers: tuple[int, ...], widths: tuple[int, ...], *, shortcut: str,
              num_classes: int, name: str = "tiny") -> ArchSpec:
    """A basic-block net with the CIFAR stem: `layers[i]` blocks of `widths[i]` channels."""
    return ArchSpec(name=name, block="basic", layers=layers, widths=widths, stem="cifar",
                    shortcut=shortcut, num_classes=num_classes)


def files(folder) -> dict[str, bytes]:
    """Every file directly in `folder` by name, with its exact bytes (before/after checks)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def backup_in(folder):
    """The one damaged run store moved aside in `folder` (not its -wal/-shm)."""
    [backup] = [p for p in folder.glob("runs.sqlite.damaged-*")
                if not p.name.endswith(("-wal", "-shm", "-journal"))]
    return backup


def shown(qtbot, widget, width: int, height: int):
    """`widget` at width x height on screen (offscreen in CI), closed with the test."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
