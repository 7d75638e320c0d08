"""The conformance report: provider × test group → pass / skip (reason) / fail, Markdown + JSON.

Results are gathered from test reports (so they also arrive from pytest-xdist workers) and grouped
by the contract class's kind and provider. `load`/`render_text` serve `memstack check`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memstack_contract.reasons import is_standard
from memstack_contract.versioning import CONTRACT_VERSION

GROUP_ORDER = {
    "vector_store": ["plugin", "guard", "crud", "consistency", "payload", "validation", "query",
                     "filters", "generated-filters", "filtered-top-k", "stale-index",
                     "partial-batch", "edge-data", "collections", "pagination", "persistence",
                     "concurrency", "keyword"],
    "embedder": ["plugin", "guard", "embedder"],
    "llm": ["plugin", "guard", "llm"],
    "reranker": ["plugin", "guard", "reranker"],
    "history_store": ["plugin", "guard", "history", "persistence", "concurrency"],
}
KIND_TITLES = {
    "vector_store": "Vector stores",
    "embedder": "Embedders",
    "llm": "LLMs",
    "reranker": "Rerankers",
    "history_store": "History stores",
}
_RANK = {"fail": 4, "pass": 3, "xfail": 2, "skip": 1}


@dataclass
class TestResult:
    nodeid: str
    test: str
    group: str
    outcome: str = "pass"  # pass | fail | skip | xfail
    reason: str = ""
    since: int = 1


@dataclass
class ProviderResults:
    kind: str
    provider: str
    facts: dict[str, Any] = field(default_factory=dict)
    tests: dict[str, TestResult] = field(default_factory=dict)


def _skip_reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = str(longrepr or "")
    return text.removeprefix("Skipped: ").strip()


def _failure_line(report: Any) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    text = getattr(crash, "message", None) or str(getattr(report, "longrepr", "") or "")
    text = text.strip().splitlines()[0] if text.strip() else "failed"
    return text[:300]


class Collector:
    """Accumulates per-test outcomes from `pytest_runtest_logreport`."""

    def __init__(self) -> None:
        self.providers: dict[tuple[str, str], ProviderResults] = {}

    def add(self, report: Any) -> None:
        info = getattr(report, "memstack_contract", None)
        if not info:
            return
        key = (info["kind"], info["provider"])
        prov = self.providers.setdefault(key, ProviderResults(info["kind"], info["provider"]))
        for name, value in (info.get("facts") or {}).items():
            if name in ("capabilities", "spec_capabilities") and prov.facts.get(name):
                prov.facts[name] = sorted(set(prov.facts[name]) | set(value))
            else:
                prov.facts.setdefault(name, value)
        res = prov.tests.setdefault(
            report.nodeid,
            TestResult(report.nodeid, info["test"], info["group"], since=info.get("since", 1)),
        )
        if hasattr(report, "wasxfail") and report.skipped:
            res.outcome, res.reason = "xfail", str(report.wasxfail)
        elif report.failed:
            if res.outcome != "fail":
                where = "" if report.when == "call" else f"[{report.when}] "
                res.outcome, res.reason = "fail", where + _failure_line(report)
        elif report.skipped and res.outcome == "pass":
            res.outcome, res.reason = "skip", _skip_reason(report.longrepr)

    def as_dict(self) -> dict[str, Any]:
        from memstack_contract import __version__

        providers = []
        for (kind, name), prov in sorted(self.providers.items()):
            groups: dict[str, dict[str, Any]] = defaultdict(
                lambda: {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0, "reasons": []}
            )
            tests = sorted(prov.tests.values(), key=lambda t: t.nodeid)
            for t in tests:
                g = groups[t.group]
                g[{"pass": "passed", "fail": "failed", "skip": "skipped", "xfail": "xfailed"}[
                    t.outcome]] += 1
                if t.reason and t.reason not in g["reasons"] and t.outcome == "skip":
                    g["reasons"].append(t.reason)
            for g in groups.values():
                g["status"] = _status(g)
            order = GROUP_ORDER.get(kind, [])
            ordered = {k: groups[k] for k in sorted(groups, key=lambda k: (
                order.index(k) if k in order else len(order), k))}
            providers.append({
                "kind": kind,
                "provider": name,
                **{k: prov.facts.get(k) for k in
                   ("distribution", "version", "contract_level", "capabilities",
                    "spec_capabilities")},
                "status": _overall(ordered),
                "passes_level": passes_level(tests),
                "groups": ordered,
                "tests": [t.__dict__ for t in tests],
            })
        return {
            "suite": "memstack-contract-tests",
            "suite_version": __version__,
            "contract_version": CONTRACT_VERSION,
            "providers": providers,
        }


def passes_level(tests: list[TestResult]) -> int:
    """The highest contract level whose every test passed (or was skipped for a capability, or
    is a declared known failure): a failure, or a skip because the provider targets an older
    level, at version N caps it at N - 1."""
    level = CONTRACT_VERSION
    for t in tests:
        behind = t.outcome == "skip" and t.reason.startswith("contract test added in")
        if t.outcome == "fail" or behind:
            level = min(level, t.since - 1)
    return level


def _status(g: dict[str, Any]) -> str:
    if g["failed"]:
        return "fail"
    if g["passed"]:
        return "pass"
    if g["xfailed"]:
        return "xfail"
    return "skip"


def _overall(groups: dict[str, dict[str, Any]]) -> str:
    statuses = {g["status"] for g in groups.values()}
    return "fail" if "fail" in statuses else "pass"


def cell(g: dict[str, Any] | None) -> str:
    """One table cell: 'pass', 'pass (2 skipped)', 'skip (reason)', 'FAIL 2/10', 'xfail (1)'."""
    if g is None:
        return "—"
    total = g["passed"] + g["failed"] + g["skipped"] + g["xfailed"]
    if g["status"] == "fail":
        return f"FAIL {g['failed']}/{total}"
    if g["status"] == "skip":
        return "skip (" + "; ".join(_short(r) for r in g["reasons"]) + ")"
    extras = []
    if g["skipped"]:
        extras.append(f"{g['skipped']} skipped")
    if g["xfailed"]:
        extras.append(f"{g['xfailed']} xfail")
    return g["status"] + (f" ({', '.join(extras)})" if extras else "")


def _short(reason: str) -> str:
    if not is_standard(reason):
        return "env: " + reason
    return reason.removeprefix("capability not declared: ")


def render_markdown(doc: dict[str, Any]) -> str:
    lines = [
        "# Conformance",
        "",
        f"Generated by {doc['suite']} {doc['suite_version']} (contract version "
        f"{doc['contract_version']}). *passes level* is the highest contract version whose "
        "every test the provider passes (capability skips and declared known failures aside). "
        "Each other cell is one group of contract tests: `pass`, "
        "`FAIL n/m`, or `skip (reason)` — a skip comes from a capability the provider does not "
        "declare, from a test newer than the provider's contract level, or (marked `env:`) from "
        "its test setup.",
        "",
    ]
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in doc["providers"]:
        by_kind[p["kind"]].append(p)
    for kind in [k for k in GROUP_ORDER if k in by_kind] + sorted(set(by_kind) - set(GROUP_ORDER)):
        provs = by_kind[kind]
        groups = list(GROUP_ORDER.get(kind, []))
        for p in provs:
            groups += [g for g in p["groups"] if g not in groups]
        lines += [f"## {KIND_TITLES.get(kind, kind)}", ""]
        lines.append("| provider | " + " | ".join(groups) + " | passes level |")
        lines.append("|---" * (len(groups) + 2) + "|")
        for p in provs:
            cells = [cell(p["groups"].get(g)) for g in groups]
            level = p.get("passes_level", "—")
            lines.append(f"| {p['provider']} | " + " | ".join(cells) + f" | {level} |")
        lines.append("")
        for p in provs:
            lines += _details(p)
    return "\n".join(lines).rstrip() + "\n"


def _details(p: dict[str, Any]) -> list[str]:
    origin = " ".join(x for x in (p.get("distribution"), p.get("version")) if x)
    head = f"**{p['provider']}**" + (f" ({origin})" if origin else "")
    if p.get("contract_level") is not None:
        head += f", contract level {p['contract_level']}"
    caps = p.get("capabilities")
    if caps is None:  # no instance was built: show what the spec declares
        caps = p.get("spec_capabilities")
    out = [head + (f"; capabilities: {', '.join(f'`{c}`' for c in caps)}" if caps else
                   "; no capabilities declared")]
    notes = [t for t in p["tests"] if t["outcome"] != "pass"]
    for t in notes:
        name = t["nodeid"].split("::")[-1]
        out.append(f"- {t['outcome']}: `{name}` — {t['reason']}")
    out.append("")
    return out


def render_text(doc: dict[str, Any]) -> str:
    """Plain-text table for the terminal (`memstack check`)."""
    out = []
    for p in doc["providers"]:
        title = f"{p['kind']}:{p['provider']}"
        origin = " ".join(x for x in (p.get("distribution"), p.get("version")) if x)
        if origin:
            title += f" ({origin})"
        out.append(f"{title} — contract version {doc['contract_version']}: {p['status'].upper()}"
                   f" (passes level {p.get('passes_level', '?')})")
        width = max([len(g) for g in p["groups"]] + [5])
        out.append(f"  {'group'.ljust(width)}  result")
        for name, g in p["groups"].items():
            out.append(f"  {name.ljust(width)}  {cell(g)}")
        failures = [t for t in p["tests"] if t["outcome"] == "fail"]
        if failures:
            out.append("  failures:")
            out += [f"    {t['nodeid'].split('::')[-1]}: {t['reason']}" for t in failures]
        out.append("")
    if not doc["providers"]:
        out.append("no contract tests ran")
    return "\n".join(out)


def report_paths(path: str | Path) -> tuple[Path, Path]:
    """(markdown, json) for `--memstack-report PATH`: PATH.md/.json, or PATH plus its sibling."""
    p = Path(path)
    if p.suffix == ".md":
        return p, p.with_suffix(".json")
    if p.suffix == ".json":
        return p.with_suffix(".md"), p
    return p.with_name(p.name + ".md"), p.with_name(p.name + ".json")


def write(doc: dict[str, Any], path: str | Path) -> tuple[Path, Path]:
    md, js = report_paths(path)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(render_markdown(doc), encoding="utf-8")
    js.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return md, js


def load(path: str | Path) -> dict[str, Any]:
    return json.loads(report_paths(path)[1].read_text(encoding="utf-8"))


def badge(doc: dict[str, Any], passed: bool = True) -> dict[str, Any]:
    """A shields.io endpoint document: "memstack contract vN: pass" (green) or "fail" (red).

    `passed` is the run's own verdict (pytest's exit code): a run with no contract tests, or
    one that failed outside the table, is a fail even if every row shown passed."""
    ok = passed and bool(doc["providers"]) and all(
        p["status"] == "pass" for p in doc["providers"])
    return {
        "schemaVersion": 1,
        "label": f"memstack contract v{doc['contract_version']}",
        "message": "pass" if ok else "fail",
        "color": "brightgreen" if ok else "red",
    }


_COLORS = {"brightgreen": "#4c1", "red": "#e05d44"}


def render_badge_svg(data: dict[str, Any]) -> str:
    """The badge as a flat SVG (no external font or service), widths estimated per character."""
    from xml.sax.saxutils import escape

    label, message = str(data["label"]), str(data["message"])
    lw, mw = 10 + 7 * len(label), 10 + 7 * len(message)
    color = _COLORS.get(data["color"], data["color"])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + mw}" height="20" role="img" '
        f'aria-label="{escape(label)}: {escape(message)}">'
        f"<title>{escape(label)}: {escape(message)}</title>"
        f'<rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{mw}" height="20" fill="{color}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{lw / 2:g}" y="14">{escape(label)}</text>'
        f'<text x="{lw + mw / 2:g}" y="14">{escape(message)}</text>'
        "</g></svg>\n"
    )


def badge_paths(path: str | Path) -> tuple[Path, Path]:
    """(svg, json) next to the report `PATH`: PATH-badge.svg and PATH-badge.json."""
    md, _ = report_paths(path)
    stem = md.with_suffix("")
    return stem.with_name(stem.name + "-badge.svg"), stem.with_name(stem.name + "-badge.json")


def write_badge(doc: dict[str, Any], path: str | Path, passed: bool = True) -> tuple[Path, Path]:
    """Write the badge for report `path` as SVG and shields.io endpoint JSON."""
    data = badge(doc, passed)
    svg, js = badge_paths(path)
    svg.parent.mkdir(parents=True, exist_ok=True)
    svg.write_text(render_badge_svg(data), encoding="utf-8")
    js.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return svg, js
