"""Sweeps on Ray (the `cluster` extra): the same sweep through `--backend ray` and locally gives
the same runs and numbers in the same store; a worker killed mid-run is retried from its
checkpoint while the others go on; a stopped Ray sweep resumes with `--resume ID --backend ray`.
One local Ray (2 CPUs, no dashboard) serves the whole module; tiny nets on tiny synthetic data."""

import json
import os
import signal

import pytest

ray = pytest.importorskip("ray")

from resnet_studio.cli import main  # noqa: E402
from resnet_studio.core.experiments import (  # noqa: E402
    ExperimentListener,
    ExperimentRunner,
    ExperimentStore,
    grid_cells,
)
from resnet_studio.core.experiments.backends import ClusterOptions, make_backend  # noqa: E402
from resnet_studio.core.training.callbacks import Callback  # noqa: E402
from resnet_studio.core.training.config import TrainConfig  # noqa: E402
from tests.helpers import SMALL_DATA as DATA  # noqa: E402

# Both sides train with one thread on the same preloaded data from the same seeds: the numbers
# agree to float round-off (measured: exactly; allowed: 1e-6).
TOLERANCE = 1e-6
SWEEP = ["sweep", "--depths", "8", "--variants", "plain,residual", "--seeds", "2",
         "--dataset", DATA, "--steps", "12", "--device", "cpu", "--threads", "1",
         "--checkpoint-every", "6", "--json"]


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory):
    home = tmp_path_factory.mktemp("ray-workers")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
             runtime_env={"env_vars": {"RESNET_STUDIO_HOME": str(home),
                                       "RESNET_STUDIO_AUTOTUNE": "0"}})
    yield
    ray.shutdown()


def _runs(store: ExperimentStore, exp_id: str) -> dict:
    """Each run of the experiment by (depth, variant, seed): its row and its metrics."""
    out = {}
    for cell in store.get(exp_id).cells:
        rec = store.runs.get(cell.run_id)
        out[cell.key] = (rec, store.runs.metrics(cell.run_id))
    return out


def test_a_ray_sweep_stores_the_same_runs_and_numbers_as_a_local_one(capsys):
    assert main([*SWEEP, "--backend", "ray"]) == 0
    out, err = capsys.readouterr()
    assert "on Ray (a local Ray started for this sweep; 1 CPU per run)" in err
    on_ray = json.loads(out.strip().splitlines()[-1])["experiment"]["id"]
    assert main(SWEEP) == 0
    local = json.loads(capsys.readouterr()[0].strip().splitlines()[-1])["experiment"]["id"]

    with ExperimentStore() as store:
        assert store.get(on_ray).status == store.get(local).status == "finished"
        remote_runs, local_runs = _runs(store, on_ray), _runs(store, local)
        columns = [r["name"] for r in store.db.rows("PRAGMA table_info(runs)")]
    assert sorted(remote_runs) == sorted(local_runs) == sorted(
        grid_cells((8,), ("plain", "residual"), (0, 1)))
    assert "experiment_id" in columns  # one table for both: the same columns by construction
    for key, (rec, metrics) in remote_runs.items():
        local_rec, local_metrics = local_runs[key]
        for field in ("name", "model", "dataset", "spec", "config", "status", "step",
                      "total_steps"):
            assert getattr(rec, field) == getattr(local_rec, field), (key, field)
        assert rec.experiment_id == on_ray and rec.pid == os.getpid()
        assert sorted(metrics) == sorted(local_metrics) == [
            "lr", "perf/images_per_s", "train/error", "train/loss", "val/error", "val/loss"]
        for name, points in metrics.items():
            steps = [s for s, _ in points]
            assert steps == [s for s, _ in local_metrics[name]], (key, name)
            if name != "perf/images_per_s":  # a speed, not a result
                for (_, a), (_, b) in zip(points, local_metrics[name]):
                    assert a == pytest.approx(b, abs=TOLERANCE), (key, name)
        assert metrics["val/error"][-1][0] == 12


class _KillFirstWorker(Callback):
    """On the driver: SIGKILL the worker training run #0 once it has written a checkpoint."""

    def __init__(self):
        self.killed_at: int | None = None

    def on_checkpoint(self, trainer, info):
        if self.killed_at is None and trainer.job.cell.index == 0:
            self.killed_at = info.step
            os.kill(trainer.worker_pid, signal.SIGKILL)


class _Starts(ExperimentListener):
    def __init__(self):
        self.starts: list[tuple[int, bool, int]] = []

    def on_run_start(self, cell, run_id, resumed):
        self.starts.append((cell.index, resumed, cell.step))


def test_a_killed_worker_is_retried_from_its_checkpoint_and_the_sweep_finishes(tmp_path):
    config = TrainConfig(dataset=DATA, steps=120, batch_size=32, log_every=5, eval_every=60,
                         checkpoint_every=5, device="cpu", threads=1)
    killer, starts = _KillFirstWorker(), _Starts()
    with ExperimentStore(tmp_path / "runs.sqlite") as store:
        exp = store.create("kill", grid_cells((8,), ("plain", "residual"), (0, 1)), config)
        backend = make_backend(ClusterOptions(storage=str(tmp_path / "shared")))
        final = ExperimentRunner(store, exp.id, backend=backend, listener=starts,
                                 callbacks=[killer]).run()
        assert final.status == "finished", final.message
        assert [c.status for c in final.cells] == ["finished"] * 4
        assert killer.killed_at == 5
        first = [s for s in starts.starts if s[0] == 0]
        assert first[0] == (0, False, 0)
        assert len(first) == 2 and first[1][1] and 5 <= first[1][2] < 120  # from a checkpoint
        cell = final.cell(0)
        metrics = store.runs.metrics(cell.run_id)
        assert metrics["val/error"][-1][0] == 120 and store.runs.get(cell.run_id).step == 120
        steps = [s for s, _ in metrics["train/loss"]]
        assert steps == list(range(5, 121, 5))  # the dead attempt's numbers were not doubled
        assert str(tmp_path / "shared") in store.runs.get(cell.run_id).checkpoint


class _StopAfterFirstCheckpoint(Callback):
    def __init__(self):
        self.runner = None

    def on_checkpoint(self, trainer, info):
        if info.reason == "periodic":
            self.runner.stop()


def test_a_stopped_ray_sweep_resumes_with_resume_and_backend_ray(capsys):
    config = TrainConfig(dataset=DATA, steps=150, batch_size=32, log_every=5, eval_every=75,
                         checkpoint_every=5, device="cpu", threads=1)
    stopper = _StopAfterFirstCheckpoint()
    with ExperimentStore() as store:
        exp = store.create("stop", grid_cells((8,), ("plain",), (0,)), config)
        runner = ExperimentRunner(store, exp.id, backend=make_backend(ClusterOptions()),
                                  callbacks=[stopper])
        stopper.runner = runner
        assert runner.run().status == "stopped"
        stopped_at = store.get(exp.id).cell(0).step
    assert 5 <= stopped_at < 150
    assert main(["sweep", "--resume", exp.id, "--backend", "ray", "--json"]) == 0
    err = capsys.readouterr()[1]
    assert f"plain-8 seed 0: resumed at step {stopped_at}" in err
    with ExperimentStore() as store:
        cell = store.get(exp.id).cell(0)
        assert (cell.status, cell.step) == ("finished", 150)
        assert [s for s, _ in store.runs.metrics(cell.run_id)["train/loss"]] == list(
            range(5, 151, 5))


def test_a_run_begun_on_this_computer_continues_on_ray_from_the_shared_storage(capsys, tmp_path):
    config = TrainConfig(dataset=DATA, steps=30, batch_size=32, log_every=5, eval_every=15,
                         checkpoint_every=5, device="cpu", threads=1)
    stopper = _StopAfterFirstCheckpoint()
    with ExperimentStore() as store:
        exp = store.create("moved", grid_cells((8,), ("residual",), (0,)), config)
        stopper.runner = ExperimentRunner(store, exp.id, callbacks=[stopper])  # in process
        assert stopper.runner.run().status == "stopped"
        assert store.get(exp.id).cell(0).step == 5
    shared = tmp_path / "shared"
    assert main(["sweep", "--resume", exp.id, "--backend", "ray", "--storage", str(shared),
                 "--json"]) == 0
    assert "ResNet-8 seed 0: resumed at step 5" in capsys.readouterr()[1]
    with ExperimentStore() as store:
        cell = store.get(exp.id).cell(0)
        rec = store.runs.get(cell.run_id)
        assert (cell.status, rec.step) == ("finished", 30)
        assert rec.run_dir == str(shared / cell.run_id)  # its folder was copied there
        assert rec.checkpoint.startswith(str(shared / cell.run_id))


def test_runs_are_packed_by_their_resources(monkeypatch):
    from resnet_studio.core.experiments.backends import ClusterUnavailable
    from resnet_studio.core.experiments.ray_backend import RayBackend

    nodes = [{"Alive": True, "Resources": {"CPU": 16.0, "GPU": 1.0}},
             {"Alive": True, "Resources": {"CPU": 4.0}},
             {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}]
    monkeypatch.setattr(ray, "nodes", lambda: nodes)
    slots = lambda **kw: RayBackend(ClusterOptions(**kw)).slots(None)
    assert slots() == 20  # 1 CPU a run, on the live nodes
    assert slots(gpus_per_run=0.25) == 4  # four small nets share the one GPU
    assert slots(gpus_per_run=0.25, cpus_per_run=8) == 2
    assert RayBackend(ClusterOptions(gpus_per_run=1)).slots(3) == 3  # --concurrency says so
    with pytest.raises(ClusterUnavailable, match="no node of the Ray cluster has 1 CPU"):
        slots(gpus_per_run=2)
