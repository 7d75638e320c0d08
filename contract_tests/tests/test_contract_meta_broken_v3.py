"""Contract versions 3 and 4: each broken store FAILS the tests that catch its bug; correct ones
pass.

Only the groups that matter to each store run (the whole suite on 25 pure-Python stores would
take minutes); the correct stores run every version-3 group and the version-4 bulk load test.
"""

from __future__ import annotations

import pytest

from memstack_contract.reasons import is_standard

FILE = "contract_tests/tests/contract_broken_stores_v3.py"
NEW_GROUPS = ("test_bulk_load or filtered-top-k or stale-index or partial-batch or collections or "
              "edge-data or concurrency or persistence or query or keyword or plugin or guard")
CORRECT = ["TestIndexedListStore", "TestKeywordListStore", "TestSqliteStore",
           "TestKeepsBFloat16AndSaysSo"]
# class -> (the groups it runs, tests that must fail, words in the first failure's message)
BROKEN: dict[str, tuple[str, set[str], str]] = {
    "TestTakesLimitThenFilters": (
        "filtered-top-k or stale-index",
        {"test_filtered_top_k_matches_brute_force", "test_generated_filters_top_k",
         "test_replace_then_filter", "test_stateful_sequences"},
        "search among the matching records"),
    "TestLimitPlusOneWhenFiltered": (
        "filtered-top-k", {"test_filtered_top_k_matches_brute_force",
                           "test_generated_filters_top_k"}, "2 hits, expected 1"),
    "TestRawDotWhenFiltered": (
        "filtered-top-k", {"test_filtered_top_k_matches_brute_force",
                           "test_generated_filters_top_k"}, "cosine similarity is"),
    "TestStaleIndexOnReplace": (
        "stale-index", {"test_replace_then_filter", "test_stateful_sequences"}, "after replacing"),
    "TestInsertSkipsIndex": ("stale-index", {"test_insert_then_filter"}, "after insert"),
    "TestBulkLoadIndexesOnlyOnSuccess": (
        "test_bulk_load", {"test_bulk_load_keeps_every_write_and_answers_the_same"},
        "bulk load that ended by an error"),
    "TestWritesPartOfABatch": (
        "partial-batch", {"test_bad_record_in_a_batch_writes_nothing"}, "wrote part of the batch"),
    "TestRacyWrites": ("concurrency", {"test_threads_overlap"}, "expected 96"),
    "TestSqliteNoBusyTimeout": ("concurrency", {"test_processes_contend"}, "database is locked"),
    "TestSqliteDeletesNotDurable": (
        "persistence", {"test_reopen_after_delete_and_replace"}, "lost across reopen"),
    "TestSqliteLosesTypesOnReopen": (
        "persistence", {"test_reopen_after_delete_and_replace"}, "wrote True (bool), read 1.0"),
    "TestSqliteSharesOneTable": (
        "collections", {"test_two_collections_in_one_storage"}, "right after upserting"),
    "TestFloat32Numbers": ("edge-data", {"test_edge_values_in_filters"}, "16777217"),
    "TestFoldsUnicode": ("edge-data", {"test_edge_values_in_filters"}, "reference"),
    "TestCaseInsensitiveIds": ("edge-data", {"test_ids_differ_by_case_and_space"}, "count()"),
    "TestFirstOfRepeatedIdWins": (
        "edge-data", {"test_repeated_id_in_one_batch"}, "last record of a repeated id"),
    "TestNaNForZeroVectors": ("edge-data", {"test_zero_vector"}, "score nan"),
    "TestLimitZeroMeansAll": ("edge-data", {"test_limit_zero"}, "limit=0"),
    "TestGetPayloadsInStoredOrder": (
        "edge-data", {"test_get_permuted_with_missing_id"}, "payload of another record"),
    "TestKeepsBFloat16": ("query", {"test_scores_and_vectors_are_precise"}, "declare 'quantized'"),
    "TestMisspeltCapability": (
        "plugin", {"test_capabilities_are_known"}, "did you mean 'persistent'"),
}


def _selection() -> str:
    parts = [f"({cls} and ({NEW_GROUPS}))" for cls in CORRECT]
    parts += [f"({cls} and ({groups}))" for cls, (groups, _, _) in BROKEN.items()]
    return " or ".join(parts)


@pytest.fixture(scope="module")
def run(suite_runner, tmp_path_factory):
    return suite_runner([FILE, "-k", _selection()], tmp_path_factory.mktemp("broken3"))


def test_run_fails_overall(run):
    assert run.returncode == 1, run.output[-3000:]


@pytest.mark.parametrize("cls", CORRECT)
def test_correct_stores_pass(run, cls):
    outcomes = run.outcomes(cls)
    assert outcomes, f"{cls} did not run:\n{run.output[-3000:]}"
    assert run.failed(cls) == set(), {n: o for n, o in outcomes.items() if o[0] == "fail"}
    assert all(is_standard(r) for o, r in outcomes.values() if o == "skip")


def test_every_optional_capability_is_proven_green_somewhere(run):
    """keyword_search, query_ids, insert, bulk_load, persistent, multiprocess, quantized: each
    capability's tests pass on some correct store, so none of them has never run green."""
    passed = {n for cls in CORRECT for n, (o, _) in run.outcomes(cls).items() if o == "pass"}
    assert {"test_keyword_query", "test_query_ids_matches_query",
            "test_bulk_load_keeps_every_write_and_answers_the_same",
            "test_insert_then_filter", "test_reopen_after_delete_and_replace",
            "test_processes_contend", "test_two_collections_in_one_storage",
            "test_scores_and_vectors_are_precise"} <= passed


@pytest.mark.parametrize("cls", list(BROKEN))
def test_broken_store_fails_where_its_bug_is(run, cls):
    _, must_fail, words = BROKEN[cls]
    failed = run.failed(cls)
    assert must_fail <= failed, (cls, failed, run.outcomes(cls))
    first = sorted(must_fail)[0]
    assert words in run.outcomes(cls)[first][1], run.outcomes(cls)[first]
