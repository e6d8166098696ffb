"""Run every benchmark module in this folder (or those named on the command line), then write
every figure to benchmarks/results/latest.json."""

import importlib
import pkgutil
import sys
from pathlib import Path

import benchmarks
from benchmarks.harness import FIGURES, write_results


def main(names: list[str]) -> int:
    found = sorted(m.name for m in pkgutil.iter_modules([str(Path(benchmarks.__file__).parent)])
                   if m.name.startswith("bench_"))
    for name in names or found:
        importlib.import_module(f"benchmarks.{name}").main()
    path = write_results()
    missed = [f.name for f in FIGURES if f.met is False]
    print(f"\n{len(FIGURES)} figures written to {path}"
          + (f"; goals not met: {', '.join(missed)}" if missed else "; every goal met"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
