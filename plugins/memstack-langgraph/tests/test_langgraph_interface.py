"""Fails loudly (never skips) when the LangGraph / LangChain interface the store uses moves.

If one of these fails after an upgrade, the pinned range in pyproject.toml is wrong: fix the
store for the new interface, then widen the pin.
"""

from __future__ import annotations

import inspect
from importlib.metadata import requires, version

import langgraph.store.base as base
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool
from memstack_langgraph import MemstackStore, create_manage_memory_tool
from packaging.requirements import Requirement


def _params(fn) -> list[tuple[str, str, object]]:
    return [(p.name, str(p.kind), p.default) for p in inspect.signature(fn).parameters.values()]


def test_installed_framework_is_inside_the_pinned_range() -> None:
    pins = {Requirement(r).name: Requirement(r) for r in requires("memstack-langgraph") or []
            if "extra ==" not in r}
    for dist in ("langgraph", "langchain-core"):
        assert dist in pins, f"{dist} is not pinned in memstack-langgraph's dependencies"
        assert pins[dist].specifier.contains(version(dist)), (
            f"installed {dist} {version(dist)} is outside the tested range {pins[dist]}")


def test_basestore_abstract_methods_are_batch_and_abatch() -> None:
    assert base.BaseStore.__abstractmethods__ == frozenset({"batch", "abatch"})
    assert not inspect.isabstract(MemstackStore)


def test_basestore_method_signatures() -> None:
    assert _params(base.BaseStore.get) == [
        ("self", "POSITIONAL_OR_KEYWORD", inspect._empty),
        ("namespace", "POSITIONAL_OR_KEYWORD", inspect._empty),
        ("key", "POSITIONAL_OR_KEYWORD", inspect._empty),
        ("refresh_ttl", "KEYWORD_ONLY", None)]
    assert [n for n, _, _ in _params(base.BaseStore.search)] == [
        "self", "namespace_prefix", "query", "filter", "limit", "offset", "refresh_ttl"]
    assert [n for n, _, _ in _params(base.BaseStore.put)] == [
        "self", "namespace", "key", "value", "index", "ttl"]
    assert [n for n, _, _ in _params(base.BaseStore.delete)] == ["self", "namespace", "key"]
    assert [n for n, _, _ in _params(base.BaseStore.list_namespaces)] == [
        "self", "prefix", "suffix", "max_depth", "limit", "offset"]
    for name in ("aget", "asearch", "aput", "adelete", "alist_namespaces"):
        sync = getattr(base.BaseStore, name[1:])
        assert _params(getattr(base.BaseStore, name)) == _params(sync), name
        assert inspect.iscoroutinefunction(getattr(base.BaseStore, name)), name


def test_operation_tuples_have_the_fields_the_store_reads() -> None:
    assert base.GetOp._fields == ("namespace", "key", "refresh_ttl")
    assert base.SearchOp._fields == ("namespace_prefix", "filter", "limit", "offset", "query",
                                     "refresh_ttl")
    assert base.PutOp._fields == ("namespace", "key", "value", "index", "ttl")
    assert base.ListNamespacesOp._fields == ("match_conditions", "max_depth", "limit", "offset")
    assert base.MatchCondition._fields == ("match_type", "path")


def test_items_ttl_and_helpers() -> None:
    assert [n for n, _, _ in _params(base.Item.__init__)] == [
        "self", "value", "key", "namespace", "created_at", "updated_at"]
    assert [n for n, _, _ in _params(base.SearchItem.__init__)] == [
        "self", "namespace", "key", "value", "created_at", "updated_at", "score"]
    assert base.BaseStore.supports_ttl is False and MemstackStore.supports_ttl is True
    assert set(base.TTLConfig.__annotations__) == {
        "refresh_on_read", "omit_expired", "default_ttl", "sweep_interval_minutes"}
    assert set(base.IndexConfig.__annotations__) >= {"dims", "embed", "fields"}
    assert callable(base.validate_op_namespace)
    assert base.get_text_at_path({"a": {"b": "x"}}, base.tokenize_path("a.b")) == ["x"]
    assert base.get_text_at_path({"a": 1}, "$") == ['{"a": 1}']


def test_langchain_tool_api_injects_the_run_config() -> None:
    tool = create_manage_memory_tool(store=object())  # type: ignore[arg-type]
    assert isinstance(tool, StructuredTool)
    assert set(tool.args) == {"content", "action", "id"}, "config must be hidden from the model"
    assert "config" in inspect.signature(tool.func).parameters
    assert inspect.signature(tool.func).parameters["config"].annotation in (
        RunnableConfig, "RunnableConfig")
