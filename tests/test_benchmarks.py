"""The GPU benchmark script runs end to end (tiny sizes, on the CPU), so it is ready for a GPU
session; its numbers mean nothing here and nothing is asserted about them. Results files merge:
running one module keeps the other figures, and the README's table follows the file."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_partial_run_updates_its_figures_and_keeps_the_others(tmp_path, monkeypatch):
    from benchmarks import harness

    path = tmp_path / "latest.json"
    monkeypatch.setattr(harness, "FIGURES", [])
    harness.record("startup_ratio", 0.2, goal="<= 0.35")
    harness.record("classify_ratio", 0.8, goal=">= 0.95")
    harness.write_results(path)
    monkeypatch.setattr(harness, "FIGURES", [])
    harness.record("classify_ratio", 1.1, goal=">= 0.95")
    harness.write_results(path)
    figures = harness.load_results(path)
    assert {n: (f["value"], f["met"]) for n, f in figures.items()} == {
        "startup_ratio": (0.2, True), "classify_ratio": (1.1, True)}

    readme = tmp_path / "README.md"
    readme.write_text(f"# App\n\n{harness.README_START}\nold\n{harness.README_END}\n\n## Next\n")
    assert harness.update_readme(readme, figures, "Measured here.")
    text = readme.read_text()
    assert "old" not in text and text.endswith(f"{harness.README_END}\n\n## Next\n")
    assert "| `classify_ratio` | 1.100 | >= 0.95 | yes |" in text
    assert text.index("classify_ratio") < text.index("startup_ratio")  # sorted by name
    readme.write_text("# no markers\n")
    assert not harness.update_readme(readme, figures, "Measured here.")
    assert harness.load_results(tmp_path / "missing.json") == {}


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
