"""Contract version 3 for embedders and history stores: each broken one FAILS where its bug is."""

from __future__ import annotations

import pytest

FILE = "contract_tests/tests/contract_broken_providers.py"
BROKEN = {
    "TestSaltedHashEmbedder": ("test_deterministic_across_processes", "another process"),
    "TestSortsBatchByLength": ("test_batch_with_duplicates_and_varied_lengths",
                               "not this text's own vector"),
    "TestDedupesBatch": ("test_batch_with_duplicates_and_varied_lengths", "expected 9 vectors"),
    "TestHistoryByCreatedAt": ("test_history_order_is_write_order", "order written"),
}


@pytest.fixture(scope="module")
def run(suite_runner, tmp_path_factory):
    return suite_runner([FILE], tmp_path_factory.mktemp("broken-providers"))


@pytest.mark.parametrize("cls", ["TestGoodEmbedder", "TestListHistory"])
def test_correct_providers_pass(run, cls):
    outcomes = run.outcomes(cls)
    assert outcomes, run.output[-3000:]
    assert run.failed(cls) == set(), outcomes
    assert outcomes["test_deterministic_across_processes" if "Embedder" in cls
                    else "test_history_order_is_write_order"][0] == "pass"


@pytest.mark.parametrize("cls", list(BROKEN))
def test_broken_provider_fails_where_its_bug_is(run, cls):
    test, words = BROKEN[cls]
    outcome, reason = run.outcomes(cls)[test]
    assert outcome == "fail" and words in reason, (outcome, reason)
