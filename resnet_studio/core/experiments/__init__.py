"""Experiments: a grid of CIFAR-style depths x variants x seeds trained under one TrainConfig, to
see the degradation problem (He et al. 2015, Fig. 6 and Table 6) with your own eyes.

    store = ExperimentStore()                         # the user's run store (or a path)
    exp = store.create("depth sweep", grid_cells((20, 56), ("plain", "residual"), (0,)),
                       EXPERIMENT_PRESETS["quick"].config)
    ExperimentRunner(store, exp.id).run()             # blocks; one Trainer at a time
    results = store.results(exp.id)                   # table, curves, degradation readout

`plan` says what an experiment is (variants, depths, cells, presets), `store` keeps it next to
the runs, `runner` trains its missing cells, `results` turns the runs' numbers into the table and
the degradation readout; `backends` says where the runs train (this process, or a Ray cluster
through `ray_backend`, imported only then). Nothing here imports torch until a run starts.
"""

from resnet_studio.core.experiments.plan import (
    EXPERIMENT_PRESETS,
    STANDARD_DEPTHS,
    VARIANT_LABELS,
    VARIANTS,
    Cell,
    Experiment,
    ExperimentError,
    ExperimentPreset,
    check_depth,
    get_experiment_preset,
    grid_cells,
    make_spec,
    model_label,
    normalize_variant,
)
from resnet_studio.core.experiments.results import (
    DEGRADATION_TOLERANCE,
    TABLE6,
    CurveBand,
    Degradation,
    ExperimentResults,
    RunRow,
    RunSeries,
    SummaryRow,
    aggregate,
    compute_results,
    params_of,
)
from resnet_studio.core.experiments.runner import (
    ExperimentListener,
    ExperimentRunner,
    run_experiment,
)
from resnet_studio.core.experiments.store import ExperimentStore

__all__ = ["DEGRADATION_TOLERANCE", "EXPERIMENT_PRESETS", "STANDARD_DEPTHS", "TABLE6",
           "VARIANTS", "VARIANT_LABELS", "Cell", "CurveBand", "Degradation", "Experiment",
           "ExperimentError", "ExperimentListener", "ExperimentPreset", "ExperimentResults",
           "ExperimentRunner", "ExperimentStore", "RunRow", "RunSeries", "SummaryRow",
           "aggregate", "check_depth", "compute_results", "get_experiment_preset", "grid_cells",
           "make_spec", "model_label", "normalize_variant", "params_of", "run_experiment"]
