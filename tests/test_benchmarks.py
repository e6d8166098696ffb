"""The GPU benchmark script runs end to end (tiny sizes, on the CPU), so it is ready for a GPU
session; its numbers mean nothing here and nothing is asserted about them."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_gpu_script_runs_and_writes_every_figure(tmp_path):
    out = tmp_path / "gpu.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--device", "cpu", "--tiny",
                             "--no-compile", "--out", str(out)], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(out.read_text())["figures"]
    assert set(figures) == {"gpu_train_ips_fp32", "gpu_train_ips_bf16_cl", "gpu_train_app_vs_bare",
                            "gpu_quick_depth_lab_s", "gpu_concurrency_2", "gpu_concurrency_4"}
    assert all(f["value"] > 0 for f in figures.values())
