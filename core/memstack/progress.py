"""A progress bar for long adds and imports: rich on stderr when asked for, else nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Bar:
    """`bar(n)` advances the count; `bar.then(label)` announces a step that follows the counted
    work and has no count of its own (a store building its indexes after an import), so that
    the user does not stare at a finished bar while minutes pass; its time is printed at the end."""

    def __init__(self, advance: Callable[[int], None],
                 say: Callable[[str], None] | None = None) -> None:
        self._advance, self._say = advance, say
        self._step: tuple[str, float] | None = None

    def __call__(self, n: int) -> None:
        self._advance(n)

    def then(self, label: str) -> None:
        self._finish()
        if self._say is not None:
            self._say(f"{label} …")
            self._step = (label, time.perf_counter())

    def _finish(self) -> None:
        if self._step is not None and self._say is not None:
            label, start = self._step
            self._say(f"{label}: done in {time.perf_counter() - start:.1f} s")
        self._step = None


@contextmanager
def progress(show: bool, total: int, label: str) -> Iterator[Bar]:
    """Yields a `Bar`; draws it (count, rate, time left) only when `show`."""
    if not show:
        yield Bar(lambda n: None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        shown = Bar(lambda n: bar.advance(task, n), bar.console.print)
        yield shown
        shown._finish()
