"""The Depth Lab's Fig. 7 page on the shipped trained nets: no experiment of one's own needed."""

from resnet_studio.app import trained_nets
from resnet_studio.qt.tabs.depth_lab.fig7_view import Fig7View


def test_the_shipped_nets_are_measured_without_an_experiment(qtbot, tmp_path):
    view = Fig7View(str(tmp_path / "runs.sqlite"))
    qtbot.addWidget(view)
    assert not view.measure_button.isEnabled() and view.shipped_button.isEnabled()
    view.shipped_button.click()
    assert not view.shipped_button.isEnabled()  # one measurement at a time
    assert view.job.wait(120_000)
    labels = [trained_nets.shipped_info(name).label for name in trained_nets.NETS]
    assert sorted(p.label for p in view.profiles) == sorted(labels)
    assert len(view.by_layer.listDataItems()) == len(view.ranked.listDataItems()) == 4
    assert view.status.text().startswith("mean response std: ")
    assert view.shipped_button.isEnabled() and not view.measure_button.isEnabled()
