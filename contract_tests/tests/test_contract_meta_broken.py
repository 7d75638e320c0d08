"""Broken stores must FAIL the suite, each on the tests that catch its bug; correct ones pass."""

from __future__ import annotations

import pytest

from memstack_contract.reasons import is_standard

FILE = "contract_tests/tests/contract_broken_stores.py"


@pytest.fixture(scope="module")
def run(suite_runner, tmp_path_factory):
    return suite_runner([FILE], tmp_path_factory.mktemp("broken"))


def _assert_clean(run, cls):
    outcomes = run.outcomes(cls)
    assert outcomes, f"{cls} did not run:\n{run.output[-3000:]}"
    assert run.failed(cls) == set(), outcomes
    reasons = {r for o, r in outcomes.values() if o == "skip"}
    assert all(is_standard(r) for r in reasons), reasons


def test_run_fails_overall(run):
    assert run.returncode == 1


def test_correct_list_store_passes(run):
    """The common base of the broken stores is correct: failures below come from their bugs."""
    _assert_clean(run, "TestListStore")


def test_declared_eventual_consistency_is_waited_for(run):
    _assert_clean(run, "TestLagsButSaysSo")


def test_store_ignoring_filters_fails(run):
    failed = run.failed("TestIgnoresFilters")
    assert {"test_filter_operator[eq-str]", "test_filter_operator[contains-int]",
            "test_filter_operator[gte-float]", "test_filter_logical[not]",
            "test_generated_filters_match_reference", "test_list_pages_with_filter"} <= failed
    assert not any(n.startswith(("test_upsert", "test_payload", "test_scores")) for n in failed)
    reason = run.outcomes("TestIgnoresFilters")["test_filter_operator[eq-int]"][1]
    assert "the reference excludes" in reason


def test_store_returning_distances_fails(run):
    failed = run.failed("TestReturnsDistances")
    assert {"test_scores_are_cosine_similarity", "test_exact_search_matches_brute_force",
            "test_recall_at_10"} <= failed
    assert "cosine similarity is 1.0000" in run.outcomes("TestReturnsDistances")[
        "test_scores_are_cosine_similarity"][1]
    assert not any(n.startswith("test_payload") for n in failed)


def test_store_appending_on_upsert_fails(run):
    failed = run.failed("TestAppendsOnUpsert")
    assert "test_upsert_existing_id_replaces" in failed
    assert "replace it, not add a copy" in run.outcomes("TestAppendsOnUpsert")[
        "test_upsert_existing_id_replaces"][1]
    assert not any(n.startswith(("test_filter", "test_payload")) for n in failed)


def test_store_stringifying_ints_fails(run):
    failed = run.failed("TestStringifiesInts")
    assert {"test_payload_types_round_trip", "test_payload_types_vary_per_record",
            "test_filter_operator[eq-int]"} <= failed
    assert not any(n.startswith(("test_scores", "test_exact", "test_recall")) for n in failed)


def test_store_losing_writes_fails(run):
    failed = run.failed("TestLosesWritesUntilLaterCall")
    assert "test_read_your_writes" in failed
    assert "misses a fresh write" in run.outcomes("TestLosesWritesUntilLaterCall")[
        "test_read_your_writes"][1]


def test_store_silently_dropping_undeclared_or_fails(run):
    failed = run.failed("TestDropsUndeclaredOr")
    assert {"test_undeclared_filters_raise", "test_filter_logical[or]"} <= failed
    reason = run.outcomes("TestDropsUndeclaredOr")["test_undeclared_filters_raise"][1]
    assert "did not raise UnsupportedFeature" in reason
    assert not any(n.startswith("test_filter_operator") for n in failed)
