"""The ResNet zoo: blocks, the builder, and named presets."""

from resnet_studio.core.models.builder import ResNet, build_model, count_params
from resnet_studio.core.models.zoo import PRESETS, Preset, get_preset, get_spec, resolve_name

__all__ = ["PRESETS", "Preset", "ResNet", "build_model", "count_params", "get_preset", "get_spec",
           "resolve_name"]
