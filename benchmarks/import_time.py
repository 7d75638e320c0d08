"""How long `import memstack` takes: cumulative -X importtime, median of 5 fresh processes.

Target: ≤ 0.15 s on a 2-core machine (mem0 takes about 0.85 s). Also reports `from memstack
import Memory` (engine, pydantic models, registry) for context.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys


def cumulative_seconds(statement: str) -> float:
    """Sum of top-level cumulative import times reported by -X importtime, in seconds."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", statement],
                          capture_output=True, text=True, check=True)
    total_us = 0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _, rest = line.partition(":")
        _self, cumulative, name = (p.strip() for p in rest.split("|"))
        if not name.startswith(" ") and not rest.split("|")[2].startswith("  "):
            total_us += int(cumulative)
    return total_us / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for label, stmt in [("import memstack", "import memstack"),
                        ("from memstack import Memory", "from memstack import Memory")]:
        runs = [cumulative_seconds(stmt) for _ in range(args.runs)]
        results[label] = {"median_s": statistics.median(runs), "runs_s": runs}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for label, r in results.items():
        print(f"{label:32s} median {r['median_s'] * 1000:7.1f} ms  "
              f"(runs: {', '.join(f'{x * 1000:.1f}' for x in r['runs_s'])})")
    print("target for `import memstack`: ≤ 150 ms")


if __name__ == "__main__":
    main()
