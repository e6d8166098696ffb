"""`make bench-gpu`: the GPU figures, in one script that needs no network and finishes in a few
minutes on one H100-class GPU.

- gpu_train_ips_fp32 / gpu_train_ips_bf16_cl / gpu_train_ips_compiled: ResNet-56 training
  images/s on CIFAR-shaped synthetic data (batch 128, 32x32): fp32 NCHW; bf16 autocast +
  channels_last; the same + torch.compile (compile time in the details).
- gpu_train_app_vs_bare: the Trainer with its defaults (bf16 + channels_last on GPUs that support
  them) ÷ a bare loop with the same settings.
- gpu_quick_depth_lab_s: wall time of the quick Depth Lab demo (plain/residual x 20/56, 500
  steps) on the GPU.
- gpu_concurrency_2 / gpu_concurrency_4: wall time of a grid of 8 small runs one at a time ÷
  with 2 (4) runs at once (> 1: running several at once beats the queue).
- gpu_peak_memory_gb: the most GPU memory any of the above held.

`python -m benchmarks.gpu --device cpu --tiny --no-compile` runs the same code with tiny sizes
on the CPU (the test suite does, so the script cannot rot between GPU sessions); its numbers
mean nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from benchmarks.harness import record, write_results

GRID_DATA = "synthetic:size=32,train=5000,val=500"
# tiny: a smoke test of the code paths; batch 16 keeps it to seconds on a busy 2-core CPU
SIZES = {"full": dict(batch=128, steps=200, warm=20, quick_steps=None, quick_data=None,
                      grid_steps=300, grid_data=GRID_DATA),
         "tiny": dict(batch=16, steps=6, warm=2, quick_steps=6, quick_data="synthetic:size=16,train=256,"
                      "val=64", grid_steps=4, grid_data="synthetic:size=8,train=256,val=64")}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_images_per_s(device, *, bf16: bool, channels_last: bool, compiled: bool, steps: int,
                      warm: int, batch: int = 128, depth: int = 56) -> tuple[float, float]:
    """A bare training loop on random CIFAR-shaped batches; (images/s, compile seconds)."""
    from resnet_studio.core.experiments import make_spec
    from resnet_studio.core.models import build_model

    torch.manual_seed(0)
    model = build_model(make_spec(depth, "residual")).to(device).train()
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    forward = torch.compile(model) if compiled else model
    dtype = torch.bfloat16 if bf16 else None

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=bf16):
            loss = nn.functional.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()

    start = time.perf_counter()
    for _ in range(warm):
        step()
    _sync(device)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch / (time.perf_counter() - start), compile_s


def app_images_per_s(device, steps: int, warm: int, batch: int = 128) -> tuple[float, object]:
    """The Trainer with a default config (the app's GPU defaults) on the same shapes."""
    from resnet_studio.core.experiments import make_spec
    from resnet_studio.core.training.callbacks import Callback
    from resnet_studio.core.training.config import TrainConfig
    from resnet_studio.core.training.trainer import Trainer

    clock = {}

    class Clock(Callback):
        def on_train_batch_end(self, trainer, step):
            if step in (warm, warm + steps):
                _sync(trainer.device)
                clock[step] = time.perf_counter()

    config = TrainConfig(dataset="synthetic:size=32,train=5000,val=256", steps=warm + steps,
                         batch_size=batch, lr=0.05, eval_every=0, checkpoint_every=0,
                         log_every=50, device=device.type)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(make_spec(56, "residual"), config, callbacks=[Clock()],
                          run_dir=os.path.join(tmp, "run"))
        assert trainer.fit().status == "finished"
    return steps * batch / (clock[warm + steps] - clock[warm]), trainer.speed


def quick_depth_lab_s(device, steps: int | None, dataset: str | None) -> float:
    from resnet_studio.app.experiments import ExperimentPlan
    from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore

    plan = ExperimentPlan.from_grid(preset="quick", device=device.type, steps=steps,
                                    dataset=dataset)
    with tempfile.TemporaryDirectory() as tmp, ExperimentStore(os.path.join(tmp, "r.sqlite")) as s:
        exp = plan.create(s)
        start = time.perf_counter()
        final = ExperimentRunner(s, exp.id).run()
        assert final.status == "finished", final.message
        return time.perf_counter() - start


def grid_seconds(device, concurrency: int, steps: int, dataset: str) -> float:
    """8 small runs (plain/residual x depth 20/32 x 2 seeds) with `concurrency` at once."""
    from resnet_studio.app.experiments import ExperimentPlan
    from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore

    plan = ExperimentPlan.from_grid(preset=None, depths=(20, 32), variants=("plain", "residual"),
                                    seeds=2, steps=steps, device=device.type,
                                    dataset=dataset)
    with tempfile.TemporaryDirectory() as tmp, ExperimentStore(os.path.join(tmp, "r.sqlite")) as s:
        exp = plan.create(s)
        start = time.perf_counter()
        final = ExperimentRunner(s, exp.id, concurrency=concurrency).run()
        assert final.status == "finished", final.message
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--out", help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench-gpu: no CUDA device on this machine; nothing measured")
        return 0
    size = SIZES["tiny" if args.tiny else "full"]
    steps, warm, batch = size["steps"], size["warm"], size["batch"]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"bench-gpu on {name}, torch {torch.__version__}", flush=True)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    bf16_ok = device.type == "cpu" or torch.cuda.is_bf16_supported()
    fp32, _ = bare_images_per_s(device, bf16=False, channels_last=False, compiled=False,
                                steps=steps, warm=warm, batch=batch)
    fast, _ = bare_images_per_s(device, bf16=bf16_ok, channels_last=True, compiled=False,
                                steps=steps, warm=warm, batch=batch)
    record("gpu_train_ips_fp32", fp32, f"ResNet-56, batch {batch}, 32x32, {name}", digits=0)
    record("gpu_train_ips_bf16_cl", fast, f"bf16 autocast + channels_last; "
           f"{fast / fp32:.2f}x fp32", digits=0)
    try:
        if args.no_compile:
            raise RuntimeError("skipped (--no-compile)")
        compiled, compile_s = bare_images_per_s(device, bf16=bf16_ok, channels_last=True,
                                                compiled=True, steps=steps, warm=warm, batch=batch)
        record("gpu_train_ips_compiled", compiled, f"+ torch.compile: {compiled / fp32:.2f}x "
               f"fp32; first {warm} steps incl. compiling {compile_s:.0f} s", digits=0)
    except Exception as e:  # noqa: BLE001 - a compiler missing on the machine is a finding
        print(f"gpu_train_ips_compiled: torch.compile failed: {type(e).__name__}: {e}")
    app, speed = app_images_per_s(device, steps, warm, batch)
    record("gpu_train_app_vs_bare", app / fast, f"Trainer defaults ({speed.describe()}) "
           f"{app:,.0f} img/s vs bare loop {fast:,.0f} img/s")
    record("gpu_quick_depth_lab_s", quick_depth_lab_s(device, size["quick_steps"],
                                                      size["quick_data"]),
           "the quick Depth Lab demo (4 runs x 500 steps), one at a time", digits=1)
    grid = size["grid_steps"], size["grid_data"]
    queue_s = grid_seconds(device, 1, *grid)
    for n in (2, 4):
        record(f"gpu_concurrency_{n}", queue_s / grid_seconds(device, n, *grid),
               f"8 runs one at a time {queue_s:.1f} s ÷ {n} at once (> 1: beats the queue)")
    if device.type == "cuda":
        record("gpu_peak_memory_gb", torch.cuda.max_memory_allocated(device) / 2**30,
               "the most any of the above held", digits=2)
    if args.out:
        write_results(Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
