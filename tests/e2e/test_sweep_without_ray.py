"""Without the `cluster` extra nothing changes: the package, the command line and a local sweep
never import Ray, and `sweep --backend ray` says in one line how to install it (exit code 2).
Ray's absence is simulated in a fresh interpreter (sys.modules["ray"] = None)."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import SMALL_DATA as DATA

ROOT = Path(__file__).resolve().parent.parent.parent

SCRIPT = f"""
import sys
import resnet_studio
from resnet_studio.cli import build_parser, main
build_parser()
code = main(["sweep", "--depths", "8", "--variants", "plain", "--dataset", {DATA!r},
             "--steps", "2", "--device", "cpu", "--threads", "1", "--quiet"])
print("local sweep", code, "ray imported:", "ray" in sys.modules, file=sys.stderr)
sys.modules["ray"] = None  # what an install without the cluster extra looks like
sys.exit(main(["sweep", "--depths", "8", "--variants", "plain", "--dataset", {DATA!r},
               "--steps", "2", "--backend", "ray"]))
"""


def test_without_ray_a_local_sweep_runs_and_backend_ray_says_how_to_install(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "RESNET_STUDIO_HOME": str(tmp_path),
           "RESNET_STUDIO_AUTOTUNE": "0", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    lines = out.stderr.strip().splitlines()
    assert "local sweep 0 ray imported: False" in lines, out.stderr[-2000:]
    assert out.returncode == 2, out.stderr[-2000:]
    assert lines[-1] == ("resnet-studio sweep: error: running on a Ray cluster needs Ray: "
                         "pip install 'resnet-studio[cluster]'")
    # refused before anything was stored: only the local sweep's experiment is there
    from resnet_studio.core.experiments import ExperimentStore

    with ExperimentStore(tmp_path / "runs.sqlite") as store:
        assert len(store.list()) == 1
