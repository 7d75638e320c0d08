"""`ContractBase`: what every contract class shares — building providers, plugin checks, guard.

Authors never subclass this directly; they subclass `VectorStoreContract`, `EmbedderContract`, ...
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from memstack.capabilities import ALL_FILTER_CAPS
from memstack.errors import ProviderNotFound
from memstack.hookspecs import REGISTRATION_HOOKS
from memstack.plugins import plugin_system
from memstack.registry import get_registry
from memstack.spec import ProviderSpec
from memstack_contract import guard
from memstack_contract.reasons import NOT_REGISTERED, reason_for, unknown_capability_problem
from memstack_contract.state import PROVIDER_FACTS
from memstack_contract.versioning import CONTRACT_VERSION, contract, reason_newer

# Libraries known to be heavy: always reported, even when the target module is one of them.
HEAVY_MODULES = (
    "chromadb",
    "torch",
    "sentence_transformers",
    "transformers",
    "psycopg",
    "psycopg2",
    "qdrant_client",
    "pymilvus",
    "openai",
    "anthropic",
    "numpy",
    "pandas",
    "pyarrow",
    "lancedb",
    "faiss",
    "tiktoken",
)


@functools.lru_cache(maxsize=64)
def heavy_imports(target: str, own: tuple[str, ...] = ()) -> tuple[int, str, tuple[str, ...]]:
    """Import plugin module `target` ("pkg.mod" or "pkg.mod:obj") and call its registration hooks
    in a fresh interpreter; return (exit code, stderr, libraries it loaded beyond what
    memstack loads to find plugins). Any third-party top-level package that `import memstack`
    (with its spec, hookspecs and registry) does not load counts
    (the target's own package and `own` aside), plus the well-known heavy ones in any case.
    Cached per process: several contract classes of one plugin share the answer."""
    module, _, attr = target.partition(":")
    code = textwrap.dedent(
        f"""
        import importlib, json, sys
        import memstack, memstack.capabilities, memstack.hookspecs, memstack.spec  # noqa
        import memstack.plugins, memstack.registry  # what memstack loads to find plugins
        def tops():
            return {{name.partition(".")[0] for name in list(sys.modules)}}
        before = tops()
        obj = importlib.import_module({module!r})
        for part in {attr!r}.split(".") if {attr!r} else []:
            obj = getattr(obj, part)
        for hook in {sorted(REGISTRATION_HOOKS.values())!r}:
            fn = getattr(obj, hook, None)
            if callable(fn):
                fn()
        skip = set(sys.stdlib_module_names) | {{{module.partition(".")[0]!r}, *{list(own)!r}}}
        new = sorted(t for t in tops() - before
                     if t not in skip and not t.startswith("_") and t != "memstack")
        heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]
        print(json.dumps(sorted(set(new) | set(heavy))))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        return done.returncode, done.stderr, ()
    return 0, done.stderr, tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def own_packages(distribution: str | None) -> tuple[str, ...]:
    """Top-level packages installed by `distribution` (a plugin may import its own freely)."""
    if not distribution:
        return ()
    from importlib.metadata import packages_distributions

    want = distribution.lower().replace("_", "-")
    return tuple(sorted(
        top for top, dists in packages_distributions().items()
        if any(d.lower().replace("_", "-") == want for d in dists)
    ))


def build_source(kind: str, spec: ProviderSpec | None, factory: Any) -> str | None:
    """Python source defining `build(config)` in a fresh interpreter, for process tests: the
    registry for registered providers, else the factory when it is importable (a module-level
    class or function); None when it is not."""
    if spec is not None:
        return (
            "from memstack.registry import get_registry\n"
            "def build(config):\n"
            f"    return get_registry().build({kind!r}, {spec.name!r}, config)\n"
        )
    modname, qual = getattr(factory, "__module__", None), getattr(factory, "__qualname__", "")
    module = sys.modules.get(modname or "")
    path = getattr(module, "__file__", None)
    if not modname or not path or "<locals>" in qual:
        return None
    import os

    return (
        f"import importlib, sys\nsys.path.insert(0, {os.path.dirname(path)!r})\n"
        f"_obj = importlib.import_module({modname!r})\n"
        f"for _p in {qual!r}.split('.'):\n    _obj = getattr(_obj, _p)\n"
        "def build(config):\n    return _obj(config)\n"
    )


def capabilities_of(instance: Any, spec: ProviderSpec | None) -> frozenset[str]:
    caps = getattr(instance, "capabilities", None)
    if caps is None and spec is not None:
        caps = spec.capabilities
    return frozenset(caps or ())


class Builder:
    """Builds fresh provider instances for one test and releases every one of them afterwards.

    Teardown resets (when the kind has `reset`) and closes each instance the test left open; an
    error there is reported. Instances the test closed itself (`builder.close(x)`) are left alone.
    """

    def __init__(
        self,
        factory: Callable[[dict[str, Any]], Any],
        config: dict[str, Any],
        facts: dict[str, Any],
        *,
        reset_on_teardown: bool,
    ) -> None:
        self.factory = factory
        self.config = config
        self.facts = facts
        self.reset_on_teardown = reset_on_teardown
        self.built: list[Any] = []
        self.closed: set[int] = set()

    def __call__(self, config: dict[str, Any] | None = None) -> Any:
        instance = self.factory(copy.deepcopy(self.config if config is None else config))
        self.built.append(instance)
        caps = getattr(instance, "capabilities", None)
        if caps is not None and "capabilities" not in self.facts:
            self.facts["capabilities"] = sorted(str(c) for c in caps)
        return instance

    def close(self, instance: Any) -> None:
        instance.close()
        self.closed.add(id(instance))

    def teardown(self) -> None:
        errors: list[BaseException] = []
        for instance in reversed(self.built):
            if id(instance) in self.closed:
                continue
            for method in ("reset", "close") if self.reset_on_teardown else ("close",):
                fn = getattr(instance, method, None)
                if fn is None:
                    continue
                try:
                    fn()
                except Exception as exc:  # keep going: release everything, then report
                    errors.append(exc)
        if errors:
            raise errors[0]


@guard.suite_class
class ContractBase:
    """Shared fixtures and the plugin-level and guard tests of every contract class."""

    kind: ClassVar[str] = ""
    #: The registry name of the provider under test (`None` with a hand-made `provider_factory`).
    provider: ClassVar[str | None] = None
    #: For hand-made providers only: the contract level they target (registered ones use the spec).
    contract_level: ClassVar[int | None] = None
    #: Known failures: {contract test name: reason}; each runs as xfail(strict=True).
    contract_xfail: ClassVar[dict[str, str]] = {}
    #: Optional label shown next to the provider in the report ("persistent", "server 1.2", ...).
    variant: ClassVar[str | None] = None
    reset_on_teardown: ClassVar[bool] = False

    # ---- fixtures an author may override -------------------------------------------------
    @pytest.fixture
    def provider_config(self) -> dict[str, Any]:
        """The provider's config as a dict (override it; the default is the empty config)."""
        return {}

    @pytest.fixture
    def provider_factory(self) -> Callable[[dict[str, Any]], Any]:
        """A callable `config dict -> fresh instance`; by default the registry builds it."""
        if not self.provider:
            pytest.fail(
                f"{type(self).__name__}: set `provider = '<registry name>'`, or override the "
                "`provider_factory` fixture to return a callable that builds a fresh instance"
            )
        registry = get_registry()
        kind, name = self.kind, self.provider
        return lambda config: registry.build(kind, name, config)

    # ---- the suite's own fixtures ---------------------------------------------------------
    @pytest.fixture
    def provider_spec(self, request: pytest.FixtureRequest) -> ProviderSpec | None:
        if not self.provider:
            return None
        try:
            spec = get_registry().get(self.kind, self.provider)
        except ProviderNotFound as exc:
            failed = [
                f"{i.name} ({i.distribution}): {i.error}"
                for i in plugin_system().infos.values()
                if i.status == "failed"
            ]
            extra = ("\nPlugins that failed to load: " + "; ".join(failed)) if failed else ""
            pytest.fail(f"{exc}{extra}", pytrace=False)
        request.node.stash.setdefault(PROVIDER_FACTS, {}).update(
            distribution=spec.distribution,
            version=spec.version,
            contract_level=spec.contract_level,
            spec_capabilities=sorted(spec.capabilities),
        )
        return spec

    @pytest.fixture
    def instance_config(self, provider_config: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(provider_config))

    @pytest.fixture
    def make_provider(
        self,
        request: pytest.FixtureRequest,
        provider_factory: Callable[[dict[str, Any]], Any],
        instance_config: dict[str, Any],
    ):
        facts = request.node.stash.setdefault(PROVIDER_FACTS, {})
        builder = Builder(
            provider_factory, instance_config, facts, reset_on_teardown=self.reset_on_teardown
        )
        yield builder
        builder.teardown()

    @pytest.fixture(autouse=True)
    def _contract_gate(self, request: pytest.FixtureRequest, provider_spec: ProviderSpec | None):
        """Skip tests newer than the provider's contract level, with the standard reason."""
        info = guard.official_info(type(self), request.function.__name__)
        if info is None:
            return
        level = self.target_level(provider_spec)
        if info.since > level:
            pytest.skip(reason_newer(info.since, level))

    # ---- helpers --------------------------------------------------------------------------
    def target_level(self, spec: ProviderSpec | None) -> int:
        if spec is not None:
            return spec.contract_level
        return self.contract_level if self.contract_level is not None else CONTRACT_VERSION

    @staticmethod
    def require(caps: frozenset[str], capability: str) -> None:
        """Skip (standard reason) unless `capability` is declared."""
        if capability not in caps:
            pytest.skip(reason_for(capability))

    @staticmethod
    def registered(spec: ProviderSpec | None) -> ProviderSpec:
        if spec is None:
            pytest.skip(NOT_REGISTERED)
        return spec

    # ---- plugin level ---------------------------------------------------------------------
    @contract(since=1, group="plugin")
    def test_plugin_loads(self, provider_spec: ProviderSpec | None) -> None:
        spec = self.registered(provider_spec)
        info = plugin_system().infos.get(spec.plugin)
        assert info is not None, f"no plugin record for {spec.plugin!r}"
        assert info.status == "loaded", f"plugin {info.name!r} is {info.status}: {info.error}"
        importlib.import_module(info.module.split(":")[0])

    @contract(since=1, group="plugin")
    def test_spec_is_valid(self, provider_spec: ProviderSpec | None) -> None:
        spec = self.registered(provider_spec)
        assert spec.problems() == []
        assert str(spec.kind) == self.kind
        assert spec.name == self.provider
        assert spec.summary.strip() and "\n" not in spec.summary.strip(), (
            "ProviderSpec.summary must be one line: `memstack plugins` shows it"
        )
        assert 1 <= spec.contract_level <= CONTRACT_VERSION, (
            f"contract_level {spec.contract_level} is not between 1 and the suite's "
            f"CONTRACT_VERSION {CONTRACT_VERSION} (upgrade memstack-contract-tests?)"
        )

    @contract(since=1, group="plugin")
    def test_provider_names_unique(self, provider_spec: ProviderSpec | None) -> None:
        spec = self.registered(provider_spec)
        registry = get_registry()
        key = (self.kind, spec.name)
        assert key not in registry.conflicts, (
            f"{self.kind} {spec.name!r} is offered by: {', '.join(registry.conflicts[key])}"
        )
        plugin = plugin_system().infos[spec.plugin].plugin
        for kind, hook in REGISTRATION_HOOKS.items():
            fn = getattr(plugin, hook, None)
            if fn is None:
                continue
            names = [s.name for s in fn() or []]
            dupes = sorted({n for n in names if names.count(n) > 1})
            assert not dupes, f"plugin {spec.plugin!r} offers {kind} {dupes} more than once"

    @contract(since=1, group="plugin")
    def test_config_schema_round_trips(
        self, provider_spec: ProviderSpec | None, instance_config: dict[str, Any]
    ) -> None:
        import jsonschema

        spec = self.registered(provider_spec)
        model = spec.config_model
        schema = model.model_json_schema()
        assert json.loads(json.dumps(schema)) == schema, "JSON schema is not plain JSON"
        jsonschema.Draft202012Validator.check_schema(schema)
        try:
            default = model()
        except ValidationError:
            default = None  # the provider needs configuring (required fields, or a validator)
        if default is not None:
            jsonschema.validate(default.model_dump(mode="json"), schema)
        validated = model.model_validate(instance_config)
        assert model.model_validate(validated.model_dump()) == validated
        jsonschema.validate(validated.model_dump(mode="json"), schema)

    @contract(since=1, group="plugin")
    def test_plugin_import_is_light(self, provider_spec: ProviderSpec | None) -> None:
        spec = self.registered(provider_spec)
        target = plugin_system().infos[spec.plugin].module
        returncode, stderr, heavy = heavy_imports(target, own_packages(spec.distribution))
        assert returncode == 0, f"importing {target} failed:\n{stderr[-3000:]}"
        assert heavy == (), (
            f"importing {target} and calling its registration hooks imported {list(heavy)}; "
            "(beyond what `import memstack` loads); import backend libraries lazily, inside the "
            "factory or the provider's __init__"
        )

    @contract(since=1, group="plugin")
    def test_capabilities_are_known(
        self, make_provider: Builder, provider_spec: ProviderSpec | None
    ) -> None:
        instance = make_provider()
        caps = getattr(instance, "capabilities", None)
        assert isinstance(caps, frozenset), (
            f"instance.capabilities must be a frozenset of strings, got {type(caps).__name__}"
        )
        assert all(isinstance(c, str) for c in caps)
        unknown = sorted(c for c in caps if c.startswith("filter:") and c not in ALL_FILTER_CAPS)
        assert not unknown, (
            f"unknown filter capabilities {unknown}; known: {sorted(ALL_FILTER_CAPS)}"
        )
        declared = set(caps) | set(provider_spec.capabilities if provider_spec else ())
        problems = [p for c in sorted(declared) if (p := unknown_capability_problem(c))]
        assert not problems, "; ".join(problems)
        if provider_spec is not None:
            extra = sorted(caps - provider_spec.capabilities)
            assert not extra, (
                f"instance declares {extra}, which its ProviderSpec does not: the spec lists "
                "everything the provider can do, an instance what this config does"
            )

    # ---- guard ----------------------------------------------------------------------------
    @contract(since=1, group="guard")
    def test_contract_guard(self) -> None:
        problems = guard.violations(type(self))
        assert not problems, guard.describe(problems)
