"""Prometheus text metrics, collected in-process with the standard library only.

Memory operations and searches are counted through memstack's own pipeline hooks
(`memstack_after_change`, `memstack_after_search`, see `memstack_server.plugin`), so this is
also a small example of a hook plugin; HTTP requests are counted by the server's middleware.
Each process (uvicorn worker) keeps its own numbers, as Prometheus client libraries do without
a multiprocess directory; scrape each instance.
"""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in pairs) + "}" if pairs else ""


class Metrics:
    """Counters and one latency histogram, rendered in the Prometheus text format 0.0.4."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
        self.latency: dict[tuple[tuple[str, str], ...], list[float]] = {}
        self.operations: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
        self.searches = 0
        self.errors: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (("method", method), ("route", route), ("status", str(status)))
        key = (("method", method), ("route", route))
        with self._lock:
            self.requests[labels] += 1
            h = self.latency.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    h[i] += 1
            h[-2] += 1  # count (= +Inf bucket)
            h[-1] += seconds  # sum

    def operation(self, event: str) -> None:
        with self._lock:
            self.operations[(("event", event),)] += 1

    def search(self) -> None:
        with self._lock:
            self.searches += 1

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[(("type", kind),)] += 1

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            out += ["# HELP memstack_http_requests_total HTTP requests by route and status.",
                    "# TYPE memstack_http_requests_total counter"]
            out += [f"memstack_http_requests_total{_labels(k)} {v}"
                    for k, v in sorted(self.requests.items())]
            out += ["# HELP memstack_http_request_duration_seconds Request latency by route.",
                    "# TYPE memstack_http_request_duration_seconds histogram"]
            for key, h in sorted(self.latency.items()):
                for bound, n in zip(BUCKETS, h, strict=False):
                    lab = _labels((*key, ("le", repr(bound))))
                    out.append(f"memstack_http_request_duration_seconds_bucket{lab} {int(n)}")
                lab = _labels((*key, ("le", "+Inf")))
                out.append(f"memstack_http_request_duration_seconds_bucket{lab} {int(h[-2])}")
                out.append(f"memstack_http_request_duration_seconds_count{_labels(key)} "
                           f"{int(h[-2])}")
                out.append(f"memstack_http_request_duration_seconds_sum{_labels(key)} {h[-1]}")
            out += ["# HELP memstack_memory_operations_total Memory changes (hook "
                    "memstack_after_change) by event.",
                    "# TYPE memstack_memory_operations_total counter"]
            out += [f"memstack_memory_operations_total{_labels(k)} {v}"
                    for k, v in sorted(self.operations.items())]
            out += ["# HELP memstack_searches_total Searches (hook memstack_after_search).",
                    "# TYPE memstack_searches_total counter",
                    f"memstack_searches_total {self.searches}"]
            out += ["# HELP memstack_errors_total Errors answered, by memstack error type.",
                    "# TYPE memstack_errors_total counter"]
            out += [f"memstack_errors_total{_labels(k)} {v}"
                    for k, v in sorted(self.errors.items())]
        return "\n".join(out) + "\n"


METRICS = Metrics()
"""The process's one collector: the pipeline hooks cannot be handed an object, so it is global."""
