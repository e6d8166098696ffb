"""startup_ratio: how soon the window is on screen, against importing PyTorch alone.

startup_ratio = seconds from starting `python -m resnet_studio gui` to the main window's first
paint (timed from outside: the app writes the paint's `time.monotonic()` through its start-up
probe, $RESNET_STUDIO_STARTUP_PROBE) ÷ seconds of `python -c "import torch, torchvision"`.
The two alternate, REPEATS rounds each; medians. Goal: ≤ 0.35 (the window must not wait for
torch). The offscreen Qt platform is used so the figure does not depend on a display.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import interleave, median, record

REPEATS = 5


def _env(home: str, probe: Path) -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RESNET_STUDIO_HOME": home,
            "RESNET_STUDIO_STARTUP_PROBE": str(probe), "RESNET_STUDIO_STARTUP_EXIT": "painted"}


def window_seconds(home: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.jsonl"
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "resnet_studio", "gui"], env=_env(home, probe),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
                       check=True)
        events = {e["event"]: e["t"] for e in map(json.loads, probe.read_text().splitlines())}
        return events["painted"] - start


def torch_seconds() -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import torch, torchvision"], check=True, timeout=120)
    return time.monotonic() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        times = interleave({"window": lambda: window_seconds(home), "torch": torch_seconds},
                           repeats=REPEATS)
    window, torch = median(times["window"]), median(times["torch"])
    record("startup_ratio", window / torch,
           f"window painted after {window:.2f} s, import torch+torchvision {torch:.2f} s; "
           f"medians of {REPEATS}", goal="<= 0.35")


if __name__ == "__main__":
    main()
