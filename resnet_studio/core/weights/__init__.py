"""Model sources: where a model's weights come from, its class names and its preprocessing.

Four kinds, each giving a `ModelSource` (the model in eval mode on the CPU, plus facts):

* ``torchvision`` — pretrained ImageNet weights of the ImageNet presets, through torchvision's
  Weights enum (file name from its `url`, `transforms()`, `meta["categories"]`). The torch hub
  cache (`torch.hub.get_dir()/checkpoints/<file>`, i.e. `$TORCH_HOME`) is looked at first; then
  the file is downloaded with a progress callback; offline, `WeightsUnavailable` names the file
  and the folder to put it in.
* ``checkpoint`` — this app's checkpoints (safetensors + JSON sidecar holding the ArchSpec):
  a run folder, its ``checkpoint.json``, its ``model-*.safetensors``; or any ``X.safetensors``
  with a sibling ``X.json`` holding ``{"spec": {...}}``.
* ``state_dict`` — a foreign ``.pt``/``.pth`` (or bare ``.safetensors``) state_dict, loaded
  only with ``torch.load(..., weights_only=True)``: a pickle that would import and call code is
  refused. Common wrappers (``{"state_dict": ...}``, ``{"model": ...}``, ``module.`` prefixes)
  are unwrapped; missing / unexpected keys and shape mismatches are reported in a `LoadReport`
  and refused unless the caller allows partial loading.
* ``random`` — freshly initialised weights, labelled "random weights (untrained)".

`load_model_source(model, weights)` picks the right one from the strings the CLI and the GUI
use: ``imagenet`` (or ``imagenet:IMAGENET1K_V1``), ``random``, or a path.

One module per source: `source` (what they all give: `ModelSource`, `LoadReport`, the errors,
the defaults an architecture implies), `torchvision`, `checkpoint`, `state_dict`,
`random_init`, and `load` (the one entry point). Every public name is importable from here.
"""

from resnet_studio.core.weights.checkpoint import is_app_checkpoint, load_checkpoint_source
from resnet_studio.core.weights.load import default_weights, load_model_source
from resnet_studio.core.weights.random_init import random_source
from resnet_studio.core.weights.source import (
    KINDS,
    RANDOM_LABEL,
    LoadReport,
    ModelSource,
    WeightsError,
    WeightsMismatch,
    WeightsUnavailable,
    default_categories,
    default_preprocess,
    describe_spec,
    matching_presets,
    resolve_spec,
    torchvision_name,
)
from resnet_studio.core.weights.state_dict import (
    StateDictFile,
    compare_state,
    infer_spec,
    load_state_dict_file,
    read_state_dict,
    unwrap_state_dict,
)
from resnet_studio.core.weights.torchvision import (
    download_file,
    hub_checkpoints_dir,
    imagenet_weights,
    imagenet_weights_file,
    load_imagenet,
)

__all__ = ["KINDS", "RANDOM_LABEL", "LoadReport", "ModelSource", "StateDictFile",
           "WeightsError", "WeightsMismatch", "WeightsUnavailable", "compare_state",
           "default_categories", "default_preprocess", "default_weights", "describe_spec",
           "download_file", "hub_checkpoints_dir", "imagenet_weights", "imagenet_weights_file",
           "infer_spec", "is_app_checkpoint", "load_checkpoint_source", "load_imagenet",
           "load_model_source", "load_state_dict_file", "matching_presets", "random_source",
           "read_state_dict", "resolve_spec", "torchvision_name", "unwrap_state_dict"]
