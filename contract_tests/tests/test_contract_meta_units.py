"""Unit tests of the suite's helpers: eventually, data comparisons, filter strategies, reasons."""

from __future__ import annotations

import time

import pytest
from hypothesis import given

from memstack import capabilities as caps
from memstack.filters import parse_filter, required_capabilities
from memstack_contract import data, eventually
from memstack_contract.reasons import NOT_REGISTERED, is_standard, reason_for, reason_newer
from memstack_contract.strategies import PROFILES, filter_dicts, profile_settings


def test_eventually_returns_once_the_check_passes():
    calls = []

    def check():
        calls.append(1)
        assert len(calls) >= 3
        return "ok"

    assert eventually(check, timeout=5, interval=0.001) == "ok"
    assert len(calls) == 3


def test_eventually_gives_up_after_the_timeout_with_the_last_error():
    start = time.monotonic()
    with pytest.raises(AssertionError, match="never") as info:
        eventually(lambda: (_ for _ in ()).throw(AssertionError("never")), timeout=0.05,
                   interval=0.01)
    assert time.monotonic() - start < 5
    assert any("attempts" in note for note in info.value.__notes__)


def test_eventually_does_not_retry_errors():
    calls = []

    def boom():
        calls.append(1)
        raise RuntimeError("backend down")

    with pytest.raises(RuntimeError):
        eventually(boom, timeout=5)
    assert calls == [1]


def test_same_value_distinguishes_types():
    assert data.same_value([1, 2.0, True], [1, 2.0, True])
    assert not data.same_value(1, 1.0)
    assert not data.same_value(True, 1)
    assert not data.same_value("1", 1)
    assert not data.same_value([1], [1.0])
    diffs = data.payload_differences({"a": "1", "c": 3}, {"a": 1, "b": 2})
    assert diffs == ["a: wrote 1 (int), read '1' (str)", "b: missing (wrote 2 (int))",
                     "c: unexpected key, value 3 (int)"]


def test_data_sets_are_deterministic_and_copied():
    first, second = data.filter_records(), data.filter_records()
    assert [r.model_dump() for r in first] == [r.model_dump() for r in second]
    first[0].payload["s"] = "changed"
    assert data.filter_records()[0].payload.get("s") != "changed"
    assert len(data.search_records()) == 400 and len(data.search_queries()) == 20
    assert len(data.LARGE_TEXT) == 100 * 1024


def test_filter_data_covers_every_value_type_and_missing_fields():
    records = data.filter_records()
    for field in data.FILTER_FIELDS[:-1]:
        present = [r for r in records if field in r.payload]
        assert 0 < len(present) < len(records), field
    mixed_types = {type(r.payload["mixed"]).__name__ for r in records if "mixed" in r.payload}
    assert mixed_types == {"str", "int", "float", "bool", "list"}


@pytest.mark.parametrize("declared", [
    frozenset({"filter:eq", "filter:and"}),
    frozenset({"filter:eq", "filter:in", "filter:gt", "filter:or", "filter:not"}),
    caps.ALL_FILTER_CAPS - {caps.FILTER_RANGE_STR},
])
def test_generated_filters_use_only_declared_capabilities(declared):
    strategy = filter_dicts(declared)
    assert strategy is not None

    @profile_settings("memstack-contract")
    @given(raw=strategy)
    def check(raw):
        assert required_capabilities(parse_filter(raw)) <= declared

    check()


def test_no_operator_declared_means_no_generated_filters():
    assert filter_dicts(frozenset({"filter:and", "filter:or"})) is None


def test_profiles_are_deterministic_by_default():
    s = profile_settings("memstack-contract")
    assert s.derandomize and s.database is None and s.deadline is None
    assert 40 <= s.max_examples <= 60
    assert set(PROFILES) >= {"memstack-contract", "memstack-contract-thorough"}
    with pytest.raises(ValueError):
        profile_settings("nope")


def test_standard_reasons():
    assert is_standard(reason_for(caps.PERSISTENT))
    assert is_standard(reason_for("eventually_consistent"))
    assert is_standard(reason_newer(2, 1))
    assert is_standard(NOT_REGISTERED)
    assert not is_standard("postgres server not reachable")


def test_heavy_import_check_sees_heavy_modules():
    from memstack_contract.base import heavy_imports

    assert heavy_imports("memstack.builtin") == (0, heavy_imports("memstack.builtin")[1], ())
    assert heavy_imports("memstack_contract.fakes.plugin")[2] == ()
    assert heavy_imports("numpy")[2] == ("numpy",)  # a module that *is* heavy is caught
    assert heavy_imports("memstack:hookimpl")[0] == 0  # "module:object" entry points work
    assert heavy_imports("no_such_module_for_memstack")[0] != 0
