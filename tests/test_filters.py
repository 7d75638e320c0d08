"""The filter language: parsing, error paths, reference semantics, generated trees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memstack.errors import FilterError
from memstack.filters import (
    And,
    Comparison,
    Not,
    Or,
    matches,
    parse_filter,
    required_capabilities,
    to_dict,
)


def test_shorthand_eq_and_implicit_and() -> None:
    tree = parse_filter({"user_id": "a", "age": {"gte": 3, "lt": 9}})
    assert tree == And((Comparison("user_id", "eq", "a"), Comparison("age", "gte", 3),
                        Comparison("age", "lt", 9)))


def test_logical_operators() -> None:
    tree = parse_filter({"OR": [{"a": 1}, {"NOT": {"b": {"in": ["x", "y"]}}}]})
    assert tree == Or((Comparison("a", "eq", 1), Not(Comparison("b", "in", ("x", "y")))))


@pytest.mark.parametrize("empty", [None, {}])
def test_no_filter(empty: object) -> None:
    assert parse_filter(empty) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ({"OR": []}, "OR", "non-empty list"),
        ({"OR": [{"a": 1}, "x"]}, "OR[1]", "expected a dict"),
        ({"age": {"between": [1, 2]}}, "age", "unknown operator 'between'"),
        ({"age": {"gte": True}}, "age.gte", "not booleans"),
        ({"tags": ["a", "b"]}, "tags", "use {'in'"),
        ({"a": {"in": []}}, "a.in", "non-empty list"),
        ({"a": {"in": [1, "x"]}}, "a.in", "mixes types"),
        ({"a": None}, "a", "not allowed"),
        ({"a": {"eq": {"nested": 1}}}, "a.eq", "not allowed"),
        ({"a": float("nan")}, "a", "finite"),
        ({"or": [{"a": 1}]}, "or", "upper case"),
        ({"$eq": 1}, "$eq", "operators go inside a field"),
        ({"bad-name": 1}, "bad-name", "not allowed"),
        ({"x'; DROP TABLE t; --": 1}, "x'; DROP TABLE t; --", "not allowed"),
        ({"NOT": []}, "NOT", "expected a dict"),
        ({"a": {}}, "a", "empty operator dict"),
    ],
)
def test_malformed_filters_name_the_part(raw: dict, path: str, fragment: str) -> None:
    with pytest.raises(FilterError) as err:
        parse_filter(raw)
    assert err.value.path == path
    assert fragment in str(err.value)


def test_not_a_dict() -> None:
    with pytest.raises(FilterError, match="expected a dict"):
        parse_filter(["a"])  # type: ignore[arg-type]


def test_deep_nesting_is_refused() -> None:
    raw: dict = {"a": 1}
    for _ in range(40):
        raw = {"NOT": raw}
    with pytest.raises(FilterError, match="nested deeper"):
        parse_filter(raw)


PAYLOAD = {"s": "b", "i": 2, "f": 2.0, "b": True, "l": ["x", 3], "n": None}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"s": "b"}, True),
        ({"missing": {"ne": "z"}}, False),  # comparisons never match a missing field
        ({"NOT": {"missing": "z"}}, True),  # NOT is the complement
        ({"i": 2.0}, True),  # ints and floats compare numerically
        ({"f": 2}, True),
        ({"b": 1}, False),  # bool is not a number
        ({"i": True}, False),
        ({"s": {"ne": 2}}, True),  # cross-type ne is true for a present scalar
        ({"s": {"gt": 1}}, False),  # cross-type range is false
        ({"s": {"gt": "a"}}, True),  # strings order by code point
        ({"s": {"lt": "B"}}, False),
        ({"l": "x"}, False),  # eq never matches a list field
        ({"l": {"ne": "x"}}, False),
        ({"l": {"contains": "x"}}, True),
        ({"l": {"contains": 3.0}}, True),
        ({"s": {"contains": "b"}}, False),  # contains is list membership only
        ({"i": {"in": [1, 2]}}, True),
        ({"i": {"nin": [1, 2]}}, False),
        ({"missing": {"nin": [1]}}, False),
        ({"n": {"ne": 1}}, False),  # a None value counts as missing
        ({"OR": [{"s": "z"}, {"i": {"gte": 2}}]}, True),
    ],
)
def test_reference_semantics(raw: dict, expected: bool) -> None:
    assert matches(parse_filter(raw), PAYLOAD) is expected


def test_required_capabilities() -> None:
    tree = parse_filter({"OR": [{"a": {"gt": "2024"}}, {"NOT": {"b": {"contains": 1}}}]})
    assert required_capabilities(tree) == {
        "filter:or", "filter:gt", "filter:range_str", "filter:not", "filter:contains"}


# --- generated filter trees -------------------------------------------------------------------
FIELDS = st.sampled_from(["a", "b", "c", "user_id"])
SCALARS = st.one_of(st.text(max_size=5), st.integers(-5, 5),
                    st.floats(-5, 5, allow_nan=False), st.booleans())


@st.composite
def comparisons(draw: st.DrawFn) -> dict:
    field = draw(FIELDS)
    op = draw(st.sampled_from(["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains"]))
    if op in ("in", "nin"):
        kind = draw(st.sampled_from([st.text(max_size=4), st.integers(-5, 5), st.booleans()]))
        return {field: {op: draw(st.lists(kind, min_size=1, max_size=3))}}
    if op in ("gt", "gte", "lt", "lte"):
        return {field: {op: draw(st.one_of(st.text(max_size=4), st.integers(-5, 5)))}}
    return {field: {op: draw(SCALARS)}}


filters = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"AND": xs}, st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda xs: {"OR": xs}, st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda x: {"NOT": x}, inner),
    ),
    max_leaves=8,
)

payloads = st.dictionaries(FIELDS, st.one_of(SCALARS, st.lists(SCALARS, max_size=3)),
                           max_size=4)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(filters)
def test_round_trip_through_dict(raw: dict) -> None:
    tree = parse_filter(raw)
    assert parse_filter(to_dict(tree)) == tree


@settings(max_examples=200, deadline=None, derandomize=True)
@given(filters, payloads)
def test_not_is_complement_and_de_morgan(raw: dict, payload: dict) -> None:
    tree = parse_filter(raw)
    assert matches(Not(tree), payload) is (not matches(tree, payload))
    assert matches(parse_filter({"OR": [raw, {"NOT": raw}]}), payload) is True


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                              st.text(max_size=6)),
                    lambda c: st.one_of(st.lists(c, max_size=3),
                                        st.dictionaries(st.text(max_size=6), c, max_size=3)),
                    max_leaves=10))
def test_parser_only_raises_filter_error(raw: object) -> None:
    try:
        parse_filter(raw)  # type: ignore[arg-type]
    except FilterError:
        pass
