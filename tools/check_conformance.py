"""Fail when docs/conformance.md no longer matches what the contract suite just reported.

`make test` runs every plugin's contract class with ``--memstack-report`` into a temporary path;
this compares that table with the committed one, so a change that moves any provider's result,
capabilities or level cannot land with a stale table. Regenerate with `make contract`.

    python tools/check_conformance.py docs/conformance.md /tmp/report.md
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path


def main(committed: str, fresh: str) -> int:
    old = Path(committed).read_text(encoding="utf-8").splitlines()
    new_path = Path(fresh)
    if not new_path.exists():
        print(f"check_conformance: {fresh} was not written (did the contract tests run?)",
              file=sys.stderr)
        return 1
    new = new_path.read_text(encoding="utf-8").splitlines()
    if old == new:
        print(f"{committed} is current")
        return 0
    diff = list(difflib.unified_diff(old, new, committed, "this run", lineterm="", n=1))
    print("\n".join(diff[:80]), file=sys.stderr)
    print(f"\n{committed} is stale: run `make contract` and commit it", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
