"""`import_lines` runs a large import inside the store's bulk load block (capability `bulk_load`),
and a small one, or one into a store without the capability, without it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from memstack import Memory, transfer
from memstack.capabilities import BULK_LOAD


def _export(base_config: dict[str, Any], tmp_path: Any, n: int) -> list[str]:
    source = Memory({**base_config, "history_store": {
        "provider": "sqlite", "config": {"path": str(tmp_path / "source.db")}}})
    with source:
        source.add([f"fact number {i}" for i in range(n)], user_id="u", infer=False)
        return list(transfer.export_lines(source))


class Blocks:
    """Counts the bulk load blocks a store went through, and what it held inside them."""

    def __init__(self, store: Any) -> None:
        self.store, self.entered, self.counts_inside = store, 0, []

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        self.entered += 1
        yield
        self.counts_inside.append(self.store.count())


def _declare(memory: Any) -> Blocks:
    blocks = Blocks(memory.store)
    memory.store.capabilities = memory.store.capabilities | {BULK_LOAD}
    memory.store.bulk_load = blocks
    return blocks


@pytest.mark.parametrize(("stored", "incoming", "bulk"), [
    (0, 6, True),  # large enough, into an empty collection
    (6, 6, True),  # at least doubles the collection
    (7, 6, False),  # a large collection would be rebuilt for a smaller import
    (0, 4, False),  # below BULK_MIN
])
def test_large_imports_run_in_the_bulk_load_block(memory: Any, base_config: dict[str, Any],
                                                 tmp_path: Any, monkeypatch: Any, stored: int,
                                                 incoming: int, bulk: bool) -> None:
    monkeypatch.setattr(transfer, "BULK_MIN", 5)
    if stored:
        memory.add([f"already here {i}" for i in range(stored)], user_id="other", infer=False)
    blocks = _declare(memory)
    lines = _export(base_config, tmp_path, incoming)
    summary = transfer.import_lines(memory, lines)
    assert summary.added == incoming
    assert memory.store.count() == stored + incoming
    assert blocks.entered == (1 if bulk else 0)
    if bulk:  # every chunk was written inside the one block
        assert blocks.counts_inside == [stored + incoming]
    assert len(memory.get_all(user_id="u").results) == incoming


def test_a_store_without_the_capability_imports_plainly(memory: Any, base_config: dict[str, Any],
                                                        tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(transfer, "BULK_MIN", 1)
    blocks = Blocks(memory.store)
    memory.store.bulk_load = blocks  # a method alone, undeclared, is not used
    summary = transfer.import_lines(memory, _export(base_config, tmp_path, 3))
    assert summary.added == 3 and blocks.entered == 0


@pytest.mark.parametrize("bulk", [True, False])
def test_the_progress_output_names_the_index_build(memory: Any, base_config: dict[str, Any],
                                                   tmp_path: Any, monkeypatch: Any, capsys: Any,
                                                   bulk: bool) -> None:
    """The bar is full once the rows are in, but the block's end still builds the indexes
    (minutes at 1M): the CLI says so, and how long it took, instead of hanging silently."""
    monkeypatch.setattr(transfer, "BULK_MIN", 3 if bulk else 100)
    _declare(memory)
    lines = _export(base_config, tmp_path, 3)
    capsys.readouterr()
    transfer.import_lines(memory, lines, progress=True)
    err = capsys.readouterr().err
    assert "importing memories" in err
    assert ("building the store's indexes …" in err) is bulk
    assert ("building the store's indexes: done in" in err) is bulk
