"""Receptive fields and effective strides, held against gradients: with positive weights, BN as
the identity and max pooling swapped for average pooling (no cancellation, no zero from a max),
one output pixel's gradient w.r.t. the input is non-zero exactly inside its computed field."""

import pytest
import torch
from torch import nn

from resnet_studio.core.inspect import summarize
from resnet_studio.core.models import build_model
from resnet_studio.core.receptive_field import Field
from resnet_studio.core.zoo import get_spec


def _last_field(spec, input_shape=None):
    rows = [r for r in summarize(spec, input_shape).layers if r.rf is not None]
    return rows[-1]


def _positive_net(spec):
    model = build_model(spec, "meta").to_empty(device="cpu").eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0 / m.weight[0].numel())  # mean filter: values stay moderate
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1), m.bias.zero_(), m.running_mean.zero_(), m.running_var.fill_(1)
                m.eps = 0.0
    if hasattr(model, "maxpool"):
        model.maxpool = nn.AvgPool2d(3, 2, 1)
    return model


def _support(model, side, cut=None):
    """Input pixels (rows) on which the centre output pixel of the last stage depends."""
    x = torch.ones(1, model.spec.in_channels, side, side, requires_grad=True)
    out = x
    out = model.stem(out)
    for stage in model.stages():
        out = stage(out)
    h = out.shape[-1] // 2
    out[0, :, h, h].sum().backward()
    rows = (x.grad[0].abs().sum(0) > 0).nonzero()
    return h, rows[:, 0].min().item(), rows[:, 0].max().item(), rows[:, 1].min().item()


@pytest.mark.parametrize("name,side", [("resnet20", 128), ("resnet18", 512), ("resnet50", 544)])
def test_gradient_is_nonzero_exactly_inside_the_field(name, side):
    spec = get_spec(name)
    row = _last_field(spec, (3, side, side))
    centre, lo, hi, left = _support(_positive_net(spec), side)
    first, last = Field(row.rf, row.jump, row.rf_start).span(centre)
    assert (lo, hi, left) == (first, last, first)
    assert hi - lo + 1 == row.rf  # the whole field inside the image: nothing clipped


def test_published_receptive_fields():
    # torchvision's ResNet-50 (v1.5): 427 pixels, stride 32; ResNet-18 435, CIFAR ResNet-20 81
    for name, rf, jump in [("resnet50", 427, 32), ("resnet18", 435, 32), ("resnet20", 81, 4),
                           ("resnet152", 1451, 32)]:
        row = _last_field(get_spec(name))
        assert (row.name.endswith("relu"), row.rf, row.jump) == (True, rf, jump)
    # The v1 bottleneck (stride on the first 1x1), as Araujo et al. 2019 list for TF-slim's
    # ResNet-v1-50: 483 pixels.
    field = Field().conv(7, 2, 3).conv(3, 2, 1)
    for i, n in enumerate((3, 4, 6, 3)):
        for j in range(n):
            field = field.conv(1, 2 if i > 0 and j == 0 else 1).conv(3, 1, 1).conv(1)
    assert (field.size, field.jump) == (483, 32)


def test_the_shortcut_alone_carries_a_cut_blocks_field():
    # With the last block's main path cut (its last BN zeroed), the output sees only what the
    # shortcut sees: the block's input field, 81 - 2 * 2 * 4 = 65 pixels.
    spec = get_spec("resnet20")
    model = _positive_net(spec)
    with torch.no_grad():
        model.layer3[2].bn2.weight.zero_()
    rows = summarize(spec, (3, 128, 128)).layers
    before = [r for r in rows if r.block == "layer3.1"][-1]
    centre, lo, hi, _ = _support(model, 128)
    assert (before.rf, hi - lo + 1) == (65, 65)
    # and the plain twin, with no shortcut, sees through the main path alone: the same 81
    assert _last_field(spec.plain_twin()).rf == 81


def test_a_union_of_fields_spans_both():
    assert Field(3, 2, 0.0).union(Field(3, 2, 4.0)) == Field(7, 2, 2.0)  # [-1, 1] and [3, 5]
    with pytest.raises(ValueError, match="strides 2 and 4"):
        Field(3, 2).union(Field(3, 4))
    rows = summarize(get_spec("resnet50")).layers
    assert [r.rf for r in rows if r.name in ("avgpool", "fc")] == [None, None]
