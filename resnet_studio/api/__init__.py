"""ResNet Studio from Python: everything the window and `resnet-studio` compute, one import away.

    from resnet_studio import api

    s = api.summary("resnet56")                      # s.params, s.macs, s.layers
    g = api.gradients_at_init("resnet56", compare_plain=True)
    run = api.train("resnet20", steps=200, dataset="synthetic", record=False)
    fig = run.plot()                                 # a matplotlib Figure

Each function calls the app layer the CLI and the GUI call (`resnet_studio.app`), with the same
defaults as the command of the same name, so the same inputs give the same numbers. Results are
plain data (frozen dataclasses of numbers, lists and dicts, `to_dict()` for JSON) with the
app's own result kept as `report`, and `.plot()` gives a matplotlib Figure (the optional extra
`notebook`: `pip install 'resnet-studio[notebook]'`). Errors are the app's: ValueError /
KeyError / OSError with one readable line.


Importing this module imports no torch (the work does, on first call).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from resnet_studio.api.results import (
    Attribution,
    Gradients,
    Landscape,
    Lesion,
    Run,
    Summary,
    Sweep,
)

if TYPE_CHECKING:
    import torch

    from resnet_studio.core.spec import ArchSpec

ProgressFn = Callable[[int, int, str], None]


def _spec(model: str | ArchSpec, plain: bool = False) -> ArchSpec:
    from resnet_studio.app.models import load_spec

    if isinstance(model, str):
        return load_spec(model, plain)
    return model.plain_twin() if plain else model


def summary(model: str | ArchSpec, *, plain: bool = False,
            input: str | tuple[int, int, int] | None = None) -> Summary:
    """Per-layer output shapes, parameters and multiply-adds of `model` (its plain twin with
    `plain`) at `input` ("3,32,32" or (3, 32, 32); None: the model's own), from the geometry
    alone: no weights, no torch. `resnet-studio summary MODEL --json` gives the same numbers."""
    from resnet_studio.app.summary import inspect_model

    report = inspect_model(_spec(model, plain), input)
    d = report.to_dict()
    return Summary(model=report.spec.name, params=report.total_params, macs=report.total_macs,
                   input_shape=tuple(report.input_shape), output_shape=tuple(report.output_shape),
                   layers=d["layers"], report=report)


def build(model: str | ArchSpec | None, *, plain: bool = False, weights: str | None = None,
          download: bool = True) -> torch.nn.Module:
    """The model as a `torch.nn.Module` in eval mode on the CPU, with torchvision's layer
    names: random weights (seed 0) unless `weights` is "imagenet" (torchvision's; downloaded
    once unless `download=False`), a checkpoint of this app (run folder or checkpoint.json;
    `model` may then be None) or a .pt/.pth state_dict (loaded with weights_only)."""
    from resnet_studio.app.models import load_model

    return load_model(model, plain=plain, weights=weights, download=download).model


def train(model: str | ArchSpec, *, plain: bool = False, preset: str = "quick_cpu",
          dataset: str | None = None, steps: int | None = None, batch_size: int | None = None,
          lr: float | None = None, seed: int | None = None, device: str | None = None,
          record: bool = True, name: str | None = None, store: str | None = None,
          download: bool = True, **config: Any) -> Run:
    """Train `model` on `dataset` starting from the training preset `preset` (default
    quick_cpu, the command's), each argument given overriding it; `config` takes any other
    `TrainConfig` field (eval_every=50, schedule="cosine", ...). Runs in this thread until it
    ends. With `record` (default) the run is in
    the run history (`resnet-studio runs`, the Train tab) like any other; `store` is another
    run store file. Returns the Run with its history: `resnet-studio train --json` with the
    same settings and seed gives the same final loss."""
    from resnet_studio.app.training import TrainingRun, TrainRequest
    from resnet_studio.core.training.callbacks import Callback
    from resnet_studio.core.training.config import TrainConfig, get_preset
    from resnet_studio.core.training.curves import RunCurves

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise ValueError(f"unknown training setting {', '.join(map(repr, unknown))}; the "
                         f"settings are {', '.join(sorted(fields))}")
    given = dict(dataset=dataset, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                 device=device, **config)
    cfg = get_preset(preset).replace(**{k: v for k, v in given.items() if v is not None})
    history = RunCurves()

    class Recorder(Callback):  # called on this thread, the one that trains
        def on_log(self, trainer, log):
            history.add_logs([log])

        def on_validation_end(self, trainer, result):
            history.add_eval(result)

    request = TrainRequest(spec=_spec(model, plain), config=cfg.validate(), name=name,
                           store_path=store, record=record, download=download)
    result = TrainingRun.build(request, [Recorder()]).run()
    return Run(id=result.run_id, status=result.status, final_loss=result.train_loss,
               result=result.to_dict(), history=history, report=result)


def sweep(*, preset: str | None = "quick", depths: Iterable[int] | None = None,
          variants: Iterable[str] | None = None, seeds: int | Iterable[int] | None = None,
          dataset: str | None = None, steps: int | None = None, batch_size: int | None = None,
          lr: float | None = None, device: str | None = None, name: str | None = None,
          store: str | None = None, concurrency: int = 1, download: bool = True,
          progress: ProgressFn | None = None) -> Sweep:
    """The Depth Lab's experiment (`resnet-studio sweep`): every depth x variant ("plain",
    "residual", "residual_b", "preact") x seed trained under one schedule, from the
    experiment preset `preset` ("quick": plain/residual x 20/56 on synthetic data; None: your
    own grid on its schedule). Stored like the command's, so the Depth Lab opens it.
    `progress(done, total, text)` hears of every finished run."""
    from resnet_studio.app.experiments import ExperimentPlan
    from resnet_studio.app.runs import remove_interrupted_writes
    from resnet_studio.core.experiments import (
        ExperimentListener,
        ExperimentRunner,
        ExperimentStore,
    )

    plan = ExperimentPlan.from_grid(preset=preset, depths=depths, variants=variants,
                                    seeds=seeds, dataset=dataset, steps=steps,
                                    batch_size=batch_size, lr=lr, device=device, name=name)

    class Listener(ExperimentListener):
        done = 0

        def on_run_end(self, cell, result, message):
            self.done += 1
            if progress is not None:
                progress(self.done, len(plan.cells), f"{cell.label}: "
                         f"{result.status if result is not None else message}")

    with ExperimentStore(store) as experiments:
        exp = plan.create(experiments)
        remove_interrupted_writes()
        final = ExperimentRunner(experiments, exp.id, concurrency=concurrency,
                                 listener=Listener(), download=download).run()
        results = experiments.results(final.id)
    d = results.to_dict()
    return Sweep(experiment_id=final.id, status=final.status, runs=d["runs"],
                 summary=d["summary"], degradation=results.degradation_lines(), report=results)


def gradients_at_init(model: str | ArchSpec, *, compare_plain: bool = False,
                      batch_size: int | None = None, seed: int = 0, batch_norm: bool = True,
                      input: str | tuple[int, int, int] | None = None) -> Gradients:
    """One forward + backward pass at initialisation on a random batch (128 CIFAR-size or 16
    ImageNet-size images unless `batch_size`): |dL/dx| at every block's input, each branch's
    response std, the first-to-last-conv gradient ratio and a verdict; with `compare_plain`
    the plain twin too, with the same weights and batch; `batch_norm=False` removes every
    BatchNorm. `resnet-studio gradients MODEL --json` gives the same numbers."""
    from resnet_studio.app.gradients import InitRequest, measure_at_init
    from resnet_studio.app.summary import parse_input

    shape = parse_input(input) if isinstance(input, str) else input
    measured = measure_at_init(InitRequest(spec=_spec(model), batch_norm=batch_norm,
                                           batch_size=batch_size, seed=seed,
                                           compare_plain=compare_plain, input_shape=shape))
    d = measured.report.to_dict()
    return Gradients(model=measured.report.net.model, blocks=d["net"]["blocks"],
                     plain_blocks=d["plain"]["blocks"] if d["plain"] else None,
                     first_to_last=measured.report.net.first_to_last,
                     verdicts=list(measured.report.verdicts), report=measured)


def lesion(model: str | ArchSpec | None = None, *, compare_plain: bool = False,
           task: str = "synthetic", steps: int | None = None, seed: int = 0,
           checkpoints: Iterable[str] = (), progress: ProgressFn | None = None,
           **options: Any) -> Lesion:
    """The lesion study of Veit et al. 2016: train `model` on `task` unless `checkpoints` (run
    folders) are given, then delete each block whose shapes match in turn and measure the
    accuracy. The training takes `steps` SGD steps (0: untrained) or, by default (None), runs
    in rounds until the intact net's held-out accuracy is 30 points above chance: rounds of
    1000 steps, at most 4000, on "synthetic" (the built-in data, hard); rounds of 100, at most
    800, on "templates" (easy) -- `app.lesion.TASKS`. `options`:
    batch_size, lr, size, classes, train, val (the command's --batch ... --val). With
    `compare_plain`, the plain twin from the same initial weights on the same batches.
    `resnet-studio lesion MODEL --json` gives the same numbers."""
    from resnet_studio.app.lesion import LesionRequest, run_lesion

    checkpoints = tuple(checkpoints)
    spec = _spec(model) if model is not None and not checkpoints else None
    request = LesionRequest(spec=spec, task=task, steps=steps, seed=seed,
                            compare_plain=compare_plain, checkpoints=checkpoints,
                            checkpoint_model=model if checkpoints and isinstance(model, str)
                            else None, **options)
    result = run_lesion(request, progress=progress)
    return Lesion(reports=[r.to_dict() for r in result.reports], summary=list(result.summary),
                  advice=result.advice, report=result)


def attribute(image: str, model: str | ArchSpec | None = None, *, weights: str | None = None,
              method: str | Iterable[str] = "integrated_gradients", target: int | str = "pred",
              compare: str | None = None, noise_tunnel: str | None = None,
              sanity: bool = False, device: str = "cpu", download: bool = True,
              progress: ProgressFn | None = None, **params: Any) -> Attribution:
    """Which pixels of `image` (a file) a prediction depends on (Captum): one map per method
    ("integrated_gradients", "saliency", "layer_gradcam", "occlusion", ...) for `model` with
    `weights` (None: ImageNet weights where torchvision has them, else random; "random"; a
    checkpoint). `target`: "pred", a class index or name; `compare`: "plain" (the plain twin
    beside it) or a second checkpoint; `sanity`: the cascading randomisation check of the
    first method. `params`: steps, baseline, batch_size, samples, stdevs, window, stride,
    layer, seed (the command's flags). `resnet-studio attribute` computes the same maps."""
    from resnet_studio.app.attribution import AttributionRequest, MethodParams, compute_attributions
    from resnet_studio.app.model_sources import ModelSourceCache
    from resnet_studio.core.analysis.attribution_names import METHODS

    methods = (method,) if isinstance(method, str) else tuple(method)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown attribution method {', '.join(map(repr, unknown))}; choose "
                         f"from {', '.join(METHODS)}")
    request = AttributionRequest(image=str(image), model=model, weights=weights, methods=methods,
                                 target=target, noise_tunnel=noise_tunnel,
                                 params=MethodParams(**params), compare=compare, sanity=sanity,
                                 device=device, download=download)
    run = compute_attributions(request, models=ModelSourceCache(size=1 + bool(compare)),
                               progress=progress)
    maps = [{"row": c.row, "model": c.model_name, "weights": c.weights_label,
             "method": c.method, "target": c.result.target, "target_label": c.target_label,
             "delta": c.result.delta, "attribution": c.result.attribution} for c in run.cells]
    return Attribution(maps=maps, image=run.cells[0].image,
                       sanity=run.sanity.to_dict() if run.sanity is not None else None,
                       report=run)



def landscape(run: str, beside: str | None = None, *, grid: int = 21, span: float = 1.0,
              batches: int = 8, seed: int = 0, line_from_init: bool = False,
              store: str | None = None, progress: ProgressFn | None = None) -> Landscape:
    """The training loss around a stored run's trained weights (Li et al. 2018), and around
    `beside`'s (its plain twin's run, say) on the same directions' recipe: run ids, names,
    `last`, run folders or checkpoint.json files. Read back when stored with these settings,
    else computed (and stored in the run's folder). `resnet-studio landscape RUN [RUN2]`
    gives the same numbers."""
    from resnet_studio.app.landscape import (
        LandscapeRequest,
        LandscapeSettings,
        compute_landscapes,
    )

    settings = LandscapeSettings(grid=grid, span=span, batches=batches, seed=seed,
                                 line_from_init=line_from_init).check()
    runs = (run,) if beside is None else (run, beside)
    result = compute_landscapes(LandscapeRequest(runs, settings, store), progress)
    return Landscape(runs=[{"label": ls.label, "origin_loss": ls.origin_loss,
                            "coords": ls.coords, "surface": ls.surface, "slice_1d": ls.slice_1d,
                            "line_coords": ls.line_coords, "line": ls.line,
                            "roughness": ls.roughness()}
                           for ls in result.landscapes], report=result)

__all__ = ["Attribution", "Gradients", "Landscape", "Lesion", "Run", "Summary", "Sweep",
           "attribute", "build", "gradients_at_init", "landscape", "lesion", "summary", "sweep",
           "train"]
