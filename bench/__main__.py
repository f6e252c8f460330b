"""`make bench`: run every benchmark module, print figures, merge them into bench/results.json.

Each benchmark is a module in this package with a `run() -> dict[str, float]`; the figures it returns
are merged (not replaced) into results.json so that one module can be re-run on its own:
`python -m bench contracts`.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")
MODULES = (
    "contracts",
    "devnet",
    "devnet_mempool",
    "ogmios",
    "store",
    "indexer",
    "release",
    "throughput",
    "audit",
    "cli",
    "ha",
    "web",
    "scale_queries",
    "scale",
)


def main(argv: list[str]) -> int:
    names = argv or list(MODULES)
    results: dict[str, float] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"[bench] no benchmark module bench/{name}.py yet; skipping")
                continue
            raise
        print(f"== {name} ==")
        figures = module.run()
        results.update({key: float(value) for key, value in figures.items()})
        RESULTS.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    print(f"[bench] wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
