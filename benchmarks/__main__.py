"""Run every benchmark module in this folder (or those named on the command line), each in a
fresh interpreter, then merge their figures into benchmarks/results/latest.json and the
README's table.

A fresh process per module: the benchmarks before it would otherwise leave their threads,
thread teams and a fragmented heap behind (ResNet-152 at 1024x1024 alone touches gigabytes),
and the next module's two sides would not start from what a user's process starts from."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import benchmarks
from benchmarks import harness
from benchmarks.harness import FIGURES, in_fresh_process, write_results

README = Path(benchmarks.__file__).resolve().parent.parent / "README.md"


def _measured_on() -> str:
    m = harness.machine()
    where = m["cuda"] or f"{m['cpu_count']} CPU cores ({m['processor']}), no GPU"
    return f"Measured by `make bench` on {where}, torch {m.get('torch')}, {m.get('threads')} threads."


def main(names: list[str]) -> int:
    found = sorted(m.name for m in pkgutil.iter_modules([str(Path(benchmarks.__file__).parent)])
                   if m.name.startswith("bench_"))
    failed = []
    for name in names or found:
        try:
            in_fresh_process(name, "main")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            failed.append(name)  # its stack is above (faulthandler); the others still run
            print(f"{name}: FAILED ({e})", flush=True)
    path = write_results()
    harness.update_readme(README, harness.load_results(path), _measured_on())
    missed = [f.name for f in FIGURES if f.met is False]
    print(f"\n{len(FIGURES)} figures written to {path}"
          + (f"; goals not met: {', '.join(missed)}" if missed else "; every goal met")
          + (f"; modules that failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
