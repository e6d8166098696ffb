"""Training throughput: the app's defaults against a textbook loop, and the window's cost.

ResNet-20, batch 128, 32x32 synthetic images on the CPU (preloaded tensors on both sides);
throughput from the first log (step LOG) to the last step, so start-up and the final
validation and checkpoint are outside the clock.

- train_default_vs_naive = images/s of the Trainer with a default TrainConfig (memory format and
  threads chosen by the app: `core/training/speed.py`) ÷ images/s of a textbook loop (NCHW, fp32,
  torch's default threads, SGD + cross-entropy). Goal ≥ 1.2. The app's one-time measurement of
  the CPU settings happens before the clock (it is remembered per machine); its seconds are
  printed as `speed_tuning_s`.
- train_overhead_ratio = images/s of a run started from the Train tab (a MainWindow offscreen,
  live curves and the gradient logger on) ÷ a bare loop with the same settings as that run
  (memory format and threads). Goal ≥ 0.97.

Each pair alternates, ROUNDS rounds; figures are ratios of medians.
"""

from __future__ import annotations

import os
import tempfile
import time

import torch
from torch import nn

from benchmarks.harness import in_fresh_process, interleave, median, record

STEPS = 40
LOG = 10  # the clock starts at the first log
BATCH = 128
DATASET = "synthetic:size=32,train=5000,val=256"
ROUNDS = 3


def _data():
    from resnet_studio.core.data import load_dataset

    return load_dataset(DATASET)


def _spec(data):
    from resnet_studio.core.zoo import get_spec, with_io

    return with_io(get_spec("resnet20"), in_channels=data.info.in_channels,
                   num_classes=data.info.num_classes)


def bare_loop(data, *, channels_last: bool, threads: int | None) -> float:
    """A textbook training loop: images/s from step LOG to the end."""
    from resnet_studio.core.models import build_model

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        model = build_model(_spec(data)).train()
        mean = torch.tensor(data.info.mean).view(1, -1, 1, 1)
        std = torch.tensor(data.info.std).view(1, -1, 1, 1)
        x_all = (data.train_x.float() / 255 - mean) / std  # normalised once, off the clock
        y_all = data.train_y
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
        g = torch.Generator().manual_seed(0)
        start = 0.0
        for step in range(1, STEPS + 1):
            idx = torch.randint(0, len(y_all), (BATCH,), generator=g)
            x, y = x_all[idx], y_all[idx]
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            if step == LOG:
                start = time.perf_counter()
        return (STEPS - LOG) * BATCH / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)


def _config(**changes):
    from resnet_studio.core.training.config import TrainConfig

    return TrainConfig(dataset=DATASET, steps=STEPS, batch_size=BATCH, lr=0.05, log_every=LOG,
                       eval_every=0, checkpoint_every=0, device="cpu", **changes)


def _throughput(logs) -> float:
    first = next(lg for lg in logs if lg.step == LOG)
    last = logs[-1]
    return (last.step - first.step) * BATCH / (last.elapsed_s - first.elapsed_s)


def app_trainer(data, folder) -> tuple[float, object]:
    """The Trainer with the app's defaults, as `resnet-studio train` runs it."""
    from resnet_studio.core.training.callbacks import Callback
    from resnet_studio.core.training.trainer import Trainer

    logs = []

    class Logs(Callback):
        def on_log(self, trainer, log):
            logs.append(log)

    trainer = Trainer(_spec(data), _config(), callbacks=[Logs()], data=data,
                      run_dir=os.path.join(folder, f"run-{time.monotonic_ns()}"))
    assert trainer.fit().status == "finished"
    return _throughput(logs), trainer.speed


def gui_session(window, qt_wait) -> tuple[float, str]:
    """A run started from the Train tab, live curves drawing; (images/s, its speed settings)."""
    tab = window.show_tab("train")
    tab.form.set_value(_config())
    logs, speed = [], []
    tab.session.logged.connect(logs.extend)
    tab.session.started.connect(lambda _r, _d, s: speed.append(s))
    assert tab.start()
    qt_wait(lambda: not tab.session.is_running(), 600)
    tab.session.logged.disconnect(logs.extend)
    return _throughput(logs), speed[0]


def main() -> None:
    from resnet_studio.core.training import speed

    data = _data()
    with tempfile.TemporaryDirectory() as home:
        os.environ["RESNET_STUDIO_HOME"] = home  # an empty speed cache: the first use measures
        t = time.perf_counter()
        chosen = speed.choose(_spec(data), _config(), torch.device("cpu"), (3, 32, 32))
        tuning_s = time.perf_counter() - t
        times = interleave({
            "app": lambda: 1 / app_trainer(data, home)[0],
            "naive": lambda: 1 / bare_loop(data, channels_last=False, threads=None)},
            repeats=ROUNDS)
        app, naive = 1 / median(times["app"]), 1 / median(times["naive"])
        record("train_default_vs_naive", app / naive,
               f"ResNet-20 batch {BATCH} 32x32 CPU: app {app:,.0f} img/s with "
               f"{chosen.describe()}, textbook NCHW loop {naive:,.0f} img/s at torch's "
               f"{torch.get_num_threads()} threads; medians of {ROUNDS}", goal=">= 1.2")
        record("speed_tuning_s", tuning_s, "the one-time measurement of CPU settings for the "
               "ResNet-20 family at batch 128 (then remembered per machine)", digits=1)
    in_fresh_process("bench_train", "gui_overhead")


def in_worker(fn):
    """fn() on a worker thread, as the window runs its training: the GUI thread of this
    process runs no torch op (see harness.in_fresh_process)."""
    import threading

    out = []
    worker = threading.Thread(target=lambda: out.append(fn()))
    worker.start()
    worker.join()
    return out[0]


def gui_overhead() -> None:
    from benchmarks.gui import offscreen_window, wait_until
    from resnet_studio.core.training import speed

    with tempfile.TemporaryDirectory() as home:
        os.environ["RESNET_STUDIO_HOME"] = home
        window = offscreen_window()
        window.sidebar.select_model("resnet20")
        wait_until(lambda: window.summary is not None, 60)
        data = in_worker(_data)
        chosen = in_worker(lambda: speed.choose(_spec(data), _config(), torch.device("cpu"),
                                                (3, 32, 32)))
        # As a user does: the Train tab is open and drawn before Start. A run started within
        # the first second of the tab's first paint trains ~2.5x slower for its whole length
        # (measured; cause not found, see the stop note of issue 11); the warm-up round would
        # absorb it, this keeps it out of the figure explicitly.
        window.show_tab("train")
        settle = time.perf_counter()
        wait_until(lambda: time.perf_counter() - settle > 2, 10)
        settings: list[str] = []

        def gui() -> float:
            ips, how = gui_session(window, wait_until)
            settings.append(how)
            return 1 / ips

        times = interleave({"gui": gui, "bare": lambda: 1 / in_worker(lambda: bare_loop(
            data, channels_last=chosen.channels_last, threads=chosen.threads))},
            repeats=ROUNDS)
        window.close()
    gui_ips, bare_ips = 1 / median(times["gui"]), 1 / median(times["bare"])
    record("train_overhead_ratio", gui_ips / bare_ips,
           f"Train tab with live curves and gradient logging {gui_ips:,.0f} img/s vs a bare "
           f"loop on a worker thread {bare_ips:,.0f} img/s, both {settings[-1]}; medians of "
           f"{ROUNDS}", goal=">= 0.97")


if __name__ == "__main__":
    main()
