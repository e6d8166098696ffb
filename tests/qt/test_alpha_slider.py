"""The Gradients tab's shortcut-strength slider: moving it measures the same net at the new α
(same weights, same batch), redraws the depth plots and the verdict, and is remembered; α on
the block graph's shortcut arcs and in the builder form."""

from dataclasses import replace

import numpy as np

from resnet_studio.core.inspect import summarize
from resnet_studio.core.zoo import get_spec
from resnet_studio.qt.kit.settings import Settings
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.sidebar.spec_form import SpecForm
from resnet_studio.qt.tabs.architecture.block_graph import BlockGraphView
from resnet_studio.qt.tabs.architecture.graph_items import ArcItem
from resnet_studio.qt.tabs.gradients.tab import ALPHA_KEY, GradientsTab


def test_moving_the_slider_redraws_the_profile_and_the_verdict(qtbot, tmp_path):
    settings = Settings(remember=False)
    tab = GradientsTab(TabContext(settings=settings, store_path=str(tmp_path / "r.sqlite")))
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    view = tab.init_view
    view.batch_spin.setValue(32)  # ResNet-20, the picker's first model
    tab.show()
    view.measure_button.click()  # opening the tab measures nothing
    qtbot.waitUntil(lambda: tab.state.report is not None, timeout=60_000)
    residual = tab.state.report
    assert residual.net.shortcut_scale == 1.0 and view.alpha_slider.value() == 1.0
    assert view.verdict_texts()[0] == ("gradients stay within a 3.7× band from the last to "
                                       "the first layer: healthy")
    _, before = view.depth_plots.curves[("weight", "residual")].getData()

    view.alpha_slider.set_value(0.0)
    qtbot.waitUntil(lambda: tab.state.report.net.shortcut_scale == 0.0, timeout=60_000)
    plain_like = tab.state.report
    assert view.alpha_slider.label.text() == "0.00 (plain)"
    _, after = view.depth_plots.curves[("weight", "residual")].getData()
    assert not np.allclose(before, after)
    # α = 0: the net's gradients are its plain twin's (the same weights, the same batch)
    np.testing.assert_allclose(plain_like.net.conv_grad_norms, plain_like.plain.conv_grad_norms,
                               rtol=1e-5)
    assert view.verdict_texts()[0] == ("gradients grow 14× from the last to the first layer: "
                                       "growing (trainable, but early and late layers learn "
                                       "at different paces)")
    assert "resnet20 (α=0)" in view.residual_card.title.text()
    assert float(settings.value(ALPHA_KEY)) == 0.0
    assert tab.shutdown(30_000)

    again = GradientsTab(TabContext(settings=settings, store_path=str(tmp_path / "r.sqlite")))
    qtbot.addWidget(again)
    assert again.init_view.alpha_slider.value() == 0.0  # remembered
    again.set_spec(replace(get_spec("resnet20"), shortcut_scale=0.3))  # the builder's α
    assert again.init_view.alpha_slider.value() == 0.3
    assert again.shutdown(30_000)


def test_graph_arcs_and_the_builder_form_show_alpha(qtbot):
    view = BlockGraphView()
    qtbot.addWidget(view)
    view.set_graph(summarize(replace(get_spec("resnet20"), shortcut_scale=0.5)).graph)
    arcs = [i for i in view.scene().items() if isinstance(i, ArcItem)]
    assert len(arcs) == 9 and {a.arc.scale for a in arcs} == {0.5}
    assert "scaled by α = 0.5: y = F(x) + 0.5·shortcut(x)" in arcs[0].toolTip()
    view.set_graph(summarize(get_spec("resnet20")).graph)
    arcs = [i for i in view.scene().items() if isinstance(i, ArcItem)]
    assert {a.arc.scale for a in arcs} == {1.0} and "scaled" not in arcs[0].toolTip()

    form = SpecForm(get_spec("resnet56"))
    qtbot.addWidget(form)
    assert form.shortcut_scale_spin.value() == 1.0
    with qtbot.waitSignal(form.specChanged, timeout=2000) as sig:
        form.shortcut_scale_spin.setValue(0.25)
        form.flush()
    assert sig.args[0].shortcut_scale == 0.25 and sig.args[0].name == "custom"
    form.shortcut_combo.setCurrentIndex(form.shortcut_combo.findData("none"))
    assert form.errors() == {"shortcut_scale": "a plain network has no shortcut to scale "
                                               "(set it to 1)"}
