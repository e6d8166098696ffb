"""Run every benchmark module in this folder (or those named on the command line)."""

import importlib
import pkgutil
import sys
from pathlib import Path

import benchmarks


def main(names: list[str]) -> int:
    found = sorted(m.name for m in pkgutil.iter_modules([str(Path(benchmarks.__file__).parent)])
                   if m.name.startswith("bench_"))
    for name in names or found:
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
