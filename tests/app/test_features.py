"""Inside the model for one image: the mosaic both front-ends draw, and a block taken apart."""

import json

import numpy as np
import pytest
from PIL import Image

from resnet_studio.app.features import (
    DIVERGING,
    MOSAIC_PAD,
    WHITE,
    MosaicOptions,
    block_planes,
    block_view,
    default_scale,
    feature_mosaic,
    layer_maps,
    mosaic_image,
    write_mosaic_png,
)
from resnet_studio.app.images import DECODE_MAX_SIDE, open_source
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.cli import main
from resnet_studio.core.analysis.features import FeatureMaps
from resnet_studio.core.images import load_image
from resnet_studio.core.weights import random_source


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (50, 70, 3), np.uint8)).save(path)
    return path


def test_mosaic_tiles_sorted_channels_with_gaps():
    maps = np.random.default_rng(0).normal(size=(10, 4, 5)).astype(np.float32)
    maps[7] += 5.0  # the highest mean: the first tile
    m = mosaic_image(FeatureMaps.from_array("x", maps), MosaicOptions(cols=4),
                     gap_rgb=(1, 2, 3))
    assert (m.rows, m.cols) == (3, 4)
    assert m.rgb.shape == (3 * 4 + 2 * MOSAIC_PAD, 4 * 5 + 3 * MOSAIC_PAD, 3)
    assert m.order[0] == 7 and m.tile_of(7) == 0
    assert m.rgb[0, 5].tolist() == [1, 2, 3]  # the padding after the first tile
    assert m.rgb[-1, -1].tolist() == [1, 2, 3]  # an empty cell (10 maps in 12 cells)
    assert m.tile_at(0, 0) == 7 and m.tile_at(5, 0) is None
    assert m.tile_at(6, 0) == m.order[1] and m.tile_at(6 * 2 + 1, 5) == m.order[6]
    assert m.tile_at(6 * 3, 10) is None  # an empty cell
    one = m.channel_rgb(7)
    assert one.shape == (4, 5, 3)
    lo, hi = np.unravel_index(maps[7].argmin(), maps[7].shape), \
        np.unravel_index(maps[7].argmax(), maps[7].shape)
    assert one[lo].tolist() == m.lut[0].tolist() and one[hi].tolist() == m.lut[255].tolist()


def test_the_tab_mosaic_is_the_command_mosaic(photo, tmp_path):
    out = tmp_path / "grid.png"
    assert main(["features", str(photo), "--model", "resnet20", "--weights", "random",
                 "--layer", "layer2.0.conv1", "--out", str(out), "--scale", "1",
                 "--sort", "max"]) == 0
    models = ModelSourceCache()
    info = open_source(models, "resnet20", "random")
    image = load_image(photo, max_side=DECODE_MAX_SIDE)
    m = feature_mosaic(models, info, image, "layer2.0.conv1", MosaicOptions(sort_by="max"))
    assert m.maps.maps.shape == (32, 16, 16)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), m.rgb)
    again = feature_mosaic(models, info, image, "layer2.0.conv1",
                           MosaicOptions(colormap="gray"), cached=m.maps)
    assert again.maps is m.maps and (again.rgb[..., 0] == again.rgb[..., 2]).all()
    assert np.array_equal(layer_maps(random_source("resnet20"), image, "layer2.0.conv1").maps,
                          m.maps.maps)


def test_png_is_enlarged_by_the_scale(tmp_path):
    maps = FeatureMaps.from_array("x", np.arange(4 * 7 * 7, dtype=np.float32).reshape(4, 7, 7))
    m = mosaic_image(maps)
    assert default_scale(maps) == 5  # 7 px maps -> at least 32 px
    assert write_mosaic_png(tmp_path / "m.png", m, 5) == (5 * 15, 5 * 15)
    png = np.asarray(Image.open(tmp_path / "m.png"))
    assert np.array_equal(png[::5, ::5], m.rgb) and png[5 * 7, 0].tolist() == list(WHITE)


def test_block_view_takes_a_block_apart(photo):
    models = ModelSourceCache()
    info = open_source(models, "resnet20", "random", warm_up=False)
    image = load_image(photo)
    mean = block_view(models, info, image, "layer1.1")
    d = mean.decomposition
    assert d.shortcut_kind == "identity" and d.max_abs_error < 1e-5
    assert mean.channel == -1 and mean.planes[0].shape == (32, 32)
    assert np.allclose(mean.planes[0], d.shortcut.mean(axis=0))
    assert np.allclose(mean.planes[2], mean.planes[0] + mean.planes[1], atol=1e-5)
    assert mean.limit == pytest.approx(max(np.abs(p).max() for p in mean.planes))
    norm = lambda a: np.sqrt(np.square(a.astype(np.float64)).sum())
    assert mean.residual_ratio == pytest.approx(norm(d.residual) / norm(d.shortcut))

    three = block_view(models, info, image, "layer1.1", 3, cached=d)
    assert three.decomposition is d and np.array_equal(three.planes[1], d.residual[3])
    assert block_planes(d, 99).channel == -1  # past the last channel: the mean
    # one symmetric colour scale for the three: the largest |value| is at an end of the map
    k = int(np.argmax([np.abs(p).max() for p in three.planes]))
    peak = np.unravel_index(np.abs(three.planes[k]).argmax(), three.planes[k].shape)
    end = 0 if three.planes[k][peak] < 0 else -1
    assert three.images[k][peak].tolist() == DIVERGING[end].tolist()


def test_diverging_map_runs_blue_white_red():
    assert DIVERGING.shape == (256, 3)
    assert DIVERGING[0].tolist() == [33, 102, 172] and DIVERGING[-1].tolist() == [178, 24, 43]
    assert DIVERGING[127].min() > 240  # white in the middle


def test_cli_features_json_lists_what_it_wrote(photo, tmp_path, capsys):
    out = tmp_path / "g.png"
    assert main(["features", str(photo), "--model", "resnet20", "--weights", "random",
                 "--layer", "layer3", "--out", str(out), "--json", "--cols", "8"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["channels"] == 64 and info["map_size"] == [8, 8]
    assert info["mosaic_size"] == [4 * (8 * 8 + 7), 4 * (8 * 8 + 7)]  # 8 x 8 tiles, scale 4
    assert sorted(info["order"]) == list(range(64))
