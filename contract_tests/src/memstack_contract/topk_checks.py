"""Filtered top-k against brute force: the comparison the contract's version-3 tests share.

The engine never queries without a scope filter, so `query(limit=k, filters=...)` must return the
k nearest of the records the filter selects — not the k nearest overall, filtered afterwards (a
user with 20 of 240 records then gets 1 hit instead of 5), not k+1, and with cosine scores.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from memstack.filters import FilterNode, matches, to_dict
from memstack.models import Hit, Record
from memstack_contract import data


class TopK:
    """Accumulates problems and recall over many filtered queries of one store."""

    def __init__(self, *, exact: bool, tol: float) -> None:
        self.exact = exact
        self.tol = tol
        self.problems: list[str] = []
        self.found = 0
        self.wanted = 0

    def check(
        self, hits: list[Hit], records: list[Record], node: FilterNode | None,
        query: list[float], limit: int, *, payloads: bool = True,
    ) -> None:
        """Compare one answer with brute force over the records `node` selects."""
        where = f"filter {json.dumps(to_dict(node) if node else None)}, limit {limit}"
        selected = [r for r in records if matches(node, r.payload)]
        truth = data.brute_force(selected, query)
        by_id = {r.id: r for r in selected}
        want_n = min(limit, len(selected))
        ids = [h.id for h in hits]
        before = len(self.problems)
        if len(hits) != want_n:
            self.problems.append(
                f"{where}: {len(hits)} hits, expected {want_n} ({len(selected)} records match; "
                "a store must search among the matching records, not filter the nearest few)")
        if len(set(ids)) != len(ids):
            self.problems.append(f"{where}: repeated ids {ids}")
        outside = [i for i in ids if i not in by_id]
        if outside:
            self.problems.append(f"{where}: returned {outside[:3]}, which the filter excludes")
        scores = [h.score for h in hits]
        if any(a < b - 1e-6 for a, b in itertools.pairwise(scores)):
            self.problems.append(f"{where}: hits are not sorted by score, best first")
        for h in hits:
            rec = by_id.get(h.id)
            if rec is None:
                continue
            true = data.cosine(rec.vector or [], query)
            if not data.close_score(h.score, true, self.tol):
                self.problems.append(
                    f"{where}: {h.id} scored {h.score:.6f}, cosine similarity is {true:.6f}")
                break
            if payloads and h.payload != rec.payload:
                self.problems.append(f"{where}: {h.id} payload {h.payload} is not {rec.payload}")
                break
        if self.exact and len(self.problems) == before:
            got = [data.cosine(by_id[i].vector or [], query) for i in ids]
            want = [s for _, s in truth[:want_n]]
            if any(abs(g - w) > 1e-4 for g, w in zip(got, want, strict=False)):
                self.problems.append(
                    f"{where}: returned {ids}, brute force top {want_n} is "
                    f"{[i for i, _ in truth[:want_n]]}")
        self.wanted += want_n
        self.found += len({i for i, _ in truth[:want_n]} & set(ids))

    def verdict(self, min_recall: float = 0.9) -> list[str]:
        out = list(self.problems)
        if not self.exact and self.wanted:
            recall = self.found / self.wanted
            if recall < min_recall:
                out.append(f"filtered recall {recall:.3f} over all queries (need >= {min_recall})")
        return out


def describe(problems: list[str], total: int | None = None) -> str:
    head = problems[0]
    more = problems[1:10]
    n = total if total is not None else len(problems)
    return head + (f"\n({n} problems; more:)\n" + "\n".join(more) if more else "")


def limits_for(matching: int) -> list[int]:
    """1, 5, one fewer than match (k < matching), and more than match (all of them)."""
    return sorted({1, 5, max(matching - 1, 1), matching + 3})


def payload_of(records: list[Record]) -> dict[str, dict[str, Any]]:
    return {r.id: r.payload for r in records}
