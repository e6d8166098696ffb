"""Residual blocks and the builder that turns an ArchSpec into an nn.Module."""

from resnet_studio.core.models.builder import ResNet, build_model, count_params

__all__ = ["ResNet", "build_model", "count_params"]
