"""The shipped trained nets: ResNet-20, plain-20, ResNet-56 and plain-56 as the quick Depth Lab
demo trains them (seed 0), in the package (assets/trained/), so that tests, figures and
notebooks have trained weights without training for minutes.

Each net is an app checkpoint (`NAME.safetensors` in float16 beside `NAME.json` with its spec
and dataset), so `--weights .../assets/trained/resnet56.safetensors` works wherever weights do;
`index.json` says what they are (preset, config, data, steps, final errors, seconds).
Regenerate them (about the quick demo's time) with

    python -m resnet_studio.app.trained_nets --regenerate
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from torch import nn

from resnet_studio.app.asset_cli import asset_arguments
from resnet_studio.core.common import files
from resnet_studio.core.common.progress import Progress
from resnet_studio.core.data import ImageData, load_dataset
from resnet_studio.core.experiments.plan import get_experiment_preset, model_label
from resnet_studio.core.spec import ArchSpec

TRAINED_DIR = Path(__file__).resolve().parents[1] / "assets" / "trained"
INDEX = "index.json"
PRESET = "quick"
SEED = 0
# file name -> (depth, variant) of the quick demo's grid
NETS = {"resnet20": (20, "residual"), "plain20": (20, "plain"),
        "resnet56": (56, "residual"), "plain56": (56, "plain")}


@dataclass(frozen=True)
class ShippedNet:
    name: str  # file stem: resnet20, plain56, ...
    label: str  # the paper's name: ResNet-20, plain-56
    depth: int
    variant: str
    spec: ArchSpec
    train_error: float  # fraction: mean over the last 10% of the run
    val_error: float  # fraction: the last validation
    path: Path  # the safetensors file


def _index() -> dict[str, Any]:
    path = TRAINED_DIR / INDEX
    if not path.is_file():
        raise OSError(f"the shipped trained nets are missing ({path}); regenerate them with "
                      "python -m resnet_studio.app.trained_nets --regenerate")
    return json.loads(path.read_text())


def shipped_info(name: str) -> ShippedNet:
    """What the shipped net `name` (resnet20, plain20, resnet56, plain56) is."""
    if name not in NETS:
        raise KeyError(f"no shipped net '{name}'; choose one of {', '.join(NETS)}")
    doc = _index()["nets"][name]
    return ShippedNet(name=name, label=doc["label"], depth=doc["depth"], variant=doc["variant"],
                      spec=ArchSpec.from_dict(doc["spec"]), train_error=doc["train_error"],
                      val_error=doc["val_error"], path=TRAINED_DIR / f"{name}.safetensors")


def shipped_net(name: str) -> nn.Module:
    """The trained net `name` in eval mode on the CPU (float32)."""
    from resnet_studio.core.weights.checkpoint import load_checkpoint_source

    return load_checkpoint_source(shipped_info(name).path).model


def shipped_dataset() -> str:
    """The dataset the shipped nets were trained on (the quick preset's)."""
    return _index()["config"]["dataset"]


def shipped_config():
    """The TrainConfig the shipped nets were trained with (seed included)."""
    from resnet_studio.core.training.config import TrainConfig

    doc = _index()
    return replace(TrainConfig.from_dict(doc["config"]), seed=doc["seed"])


def shipped_steps(name: str) -> int:
    return int(_index()["nets"][name]["steps"])


def shipped_data() -> ImageData:
    return load_dataset(shipped_dataset())


# -- regeneration -------------------------------------------------------------------------------

def regenerate(out_dir: Path = TRAINED_DIR, progress: Progress | None = None) -> dict[str, Any]:
    """Train the quick preset's four nets (seed 0) and write them to `out_dir`: float16
    safetensors, a sidecar each and index.json. Returns the index."""
    from safetensors.torch import save_file

    from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore
    from resnet_studio.core.training.checkpoint import load_weights

    preset = get_experiment_preset(PRESET)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ExperimentStore(Path(tmp) / "runs.sqlite") as store:
        exp = store.create_from_preset(preset, device="cpu", seed=SEED)
        t = time.perf_counter()
        final = ExperimentRunner(store, exp.id).run()
        wall = time.perf_counter() - t
        if final.status != "finished":
            raise RuntimeError(f"the quick preset did not finish: {final.status} {final.message}")
        rows = {(r.depth, r.variant): r for r in store.results(final).runs}
        data = load_dataset(preset.config.dataset)
        nets = {}
        for name, (depth, variant) in NETS.items():
            row = rows[(depth, variant)]
            rec = store.runs.get(row.run_id)
            state = load_weights(rec.checkpoint)
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
            spec = ArchSpec.from_dict(rec.spec)  # make_spec's, adapted to the data's classes
            save_file(state, str(out_dir / f"{name}.safetensors"))
            files.write_text_atomic(out_dir / f"{name}.json", json.dumps(
                {"spec": spec.to_dict(), "dataset": data.info.to_dict()}, indent=1) + "\n")
            nets[name] = {"label": model_label(depth, variant), "depth": depth,
                          "variant": variant, "spec": spec.to_dict(),
                          "train_error": row.train_error, "val_error": row.val_error,
                          "steps": row.step, "seconds": row.seconds}
        store.delete(exp.id, delete_runs=True)
    index = {"preset": PRESET, "seed": SEED, "config": preset.config.to_dict(),
             "wall_seconds": round(wall, 1), "storage": "float16", "nets": nets}
    files.write_text_atomic(out_dir / INDEX, json.dumps(index, indent=1) + "\n")
    return index


def main(argv: list[str] | None = None) -> int:
    args = asset_arguments(argv, "resnet_studio.app.trained_nets", __doc__, "train the quick "
                           "preset's four nets again and overwrite the files", TRAINED_DIR)
    if not args.regenerate:
        for name in NETS:
            info = shipped_info(name)
            print(f"{info.label:<10} training error {100 * info.train_error:5.1f}%  "
                  f"validation error {100 * info.val_error:5.1f}%  {info.path}")
        return 0
    index = regenerate(args.out)
    print(f"trained in {index['wall_seconds']:.0f} s; written to {args.out}")
    for doc in index["nets"].values():
        print(f"{doc['label']:<10} training error {100 * doc['train_error']:5.1f}%  "
              f"validation error {100 * doc['val_error']:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
