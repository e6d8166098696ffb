"""The lesion use case: the same numbers as the core steps done by hand, progress that ends
where it says, cancel, and the requests it refuses."""

from dataclasses import replace

import pytest

from resnet_studio.app.gradients import lesion_csv, lesion_json
from resnet_studio.app.lesion import TASKS, LesionRequest, run_lesion, training_plan
from resnet_studio.core.analysis.gradients import build_seeded, plain_twin_of
from resnet_studio.core.analysis.lesion import lesion_study, template_task, train_briefly
from resnet_studio.core.common.progress import Cancelled, Progress
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import with_io

SMALL = ArchSpec(name="small", block="basic", layers=(2, 2), widths=(8, 16), stem="cifar",
                 shortcut="A")
QUICK = dict(task="templates", train=128, val=64, seed=2)


def test_the_numbers_are_those_of_the_core_steps_done_by_hand():
    result = run_lesion(LesionRequest(spec=SMALL, steps=6, compare_plain=True, **QUICK))

    spec = with_io(SMALL, in_channels=3, num_classes=10)
    tx, ty, vx, vy, _ = template_task(size=8, train=128, val=64, classes=10, seed=2)
    model = build_seeded(spec, 2)
    by_hand = []
    for m in (model, plain_twin_of(model)[0]):
        train_briefly(m, tx, ty, steps=6, batch_size=64, lr=0.1, seed=2)
        by_hand.append(lesion_study(m, vx, vy))

    assert [r.model for r in result.reports] == ["small", "plain_small"]
    for got, want in zip(result.reports, by_hand):
        assert got.intact_accuracy == want.intact_accuracy
        assert [(b.id, b.deleted_as, b.drop) for b in got.blocks] == \
               [(b.id, b.deleted_as, b.drop) for b in want.blocks]
        assert got.skipped == ["layer2.0"] and got.samples == 64
        assert "trained here for 6 steps" in got.source and "64 held-out images" in got.source
    res, plain = result.reports
    assert len(result.summary) == 3
    assert result.summary[0].startswith(f"small: intact {100 * res.intact_accuracy:.1f}%")
    assert result.summary[2] == (f"mean drop per deleted block: small {100 * res.mean_drop:.1f} "
                                 f"points, plain_small {100 * plain.mean_drop:.1f} points")
    assert result.headline.count("mean drop") == 2

    # the exports: one CSV row per deleted block, the JSON of every report
    rows = lesion_csv(result.reports).splitlines()
    assert rows[0] == "model,plain,deleted_block,deleted_as,accuracy,drop,intact_accuracy"
    assert len(rows) == 1 + 3 + 3 and rows[1].startswith("small,False,layer1.0,identity path,")
    assert '"deleted_as": "skipped"' in lesion_json(result.reports)


def test_untrained_is_near_chance_and_says_what_to_do():
    result = run_lesion(LesionRequest(spec=SMALL, steps=0, **QUICK))
    (report,) = result.reports
    assert report.source.startswith("untrained (initial weights, seed 2)")
    assert report.intact_accuracy < report.chance + 0.15
    assert result.advice.startswith("Train longer") and "barely above chance" in result.summary[0]


def test_progress_runs_to_the_end_and_cancel_stops_at_the_next_report():
    reports = []
    run_lesion(LesionRequest(spec=SMALL, steps=20, compare_plain=True, **QUICK),
               progress=lambda d, t, s: reports.append((d, t, s)))
    totals = {t for _, t, _ in reports[1:]}
    assert totals == {2 * (20 + 4)}  # two models x (20 steps + 4 blocks)
    done = [d for d, _, _ in reports[1:]]
    assert done == sorted(done) and done[-1] == 48
    assert any(s.startswith("training plain_small: step 20/20") for _, _, s in reports)
    assert reports[-1][2] == "lesioning plain_small: layer2.1 deleted"

    seen = []
    progress = Progress(lambda d, t, s: (seen.append(s), progress.cancel()))
    with pytest.raises(Cancelled):
        run_lesion(LesionRequest(spec=SMALL, steps=1000, **QUICK), progress=progress)
    assert seen == ["making the templates data"]


def test_requests_that_cannot_run_are_refused_in_words():
    with pytest.raises(ValueError, match="already plain"):
        run_lesion(LesionRequest(spec=SMALL.plain_twin(), compare_plain=True, **QUICK))
    with pytest.raises(ValueError, match="0 or more"):
        run_lesion(LesionRequest(spec=SMALL, steps=-1, **QUICK))
    with pytest.raises(ValueError, match="too small"):
        run_lesion(LesionRequest(spec=replace(SMALL, stem="imagenet"), size=4, **QUICK))
    with pytest.raises(ValueError, match="name a model"):
        run_lesion(LesionRequest())


def test_the_defaults_of_each_task():
    assert (TASKS["templates"].steps, TASKS["synthetic"].steps) == (100, 1000)
    assert list(TASKS) == ["templates", "synthetic"]  # the tab's order: the easy task first


def test_training_until_well_above_chance_says_how_long_first(monkeypatch):
    monkeypatch.setitem(TASKS, "templates", replace(TASKS["templates"], steps=20, max_steps=200))
    request = LesionRequest(spec=SMALL, steps=None, compare_plain=True,
                            **{**QUICK, "train": 512})
    seen = []
    result = run_lesion(request, progress=lambda d, t, s: seen.append(s))
    res, plain = result.reports
    steps = int(res.source.split("trained here for ")[1].split()[0])
    # rounds of 20 steps, stopped once the held-out accuracy is 40% (chance 10% + 30 points)
    assert steps % 20 == 0 and (steps == 200 or res.intact_accuracy >= 0.4)
    assert steps < 200  # here: 60 steps, 40.6%
    assert f"trained here for {steps} steps (SGD momentum 0.9, batch 64, lr 0.1 cosine " \
           "restarted every 20 steps, seed 2)" in res.source
    assert f"trained here for {steps} steps" in plain.source  # the twin: the same batches
    assert seen[1].startswith("training small: step 10 until it is well above chance (40% on "
                              "held-out images), at most 200, loss ")
    assert "; at most " in seen[1] and seen[1].endswith(" left")
    assert "Trains small and its plain twin on templates until small is well above chance " \
           "(40% on held-out images): rounds of 20 steps, at most 200 steps each" \
           in training_plan(request)
