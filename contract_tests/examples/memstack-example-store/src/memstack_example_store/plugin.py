"""Registration: what memstack imports at start-up. Keep it light — import the store lazily."""

from __future__ import annotations

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_example_store.capabilities import CAPABILITIES
from memstack_example_store.config import ExampleStoreConfig


def _build(config: ExampleStoreConfig):  # type: ignore[no-untyped-def]
    from memstack_example_store.store import ExampleStore  # a real backend imports its client here

    return ExampleStore(config)


@hookimpl
def memstack_vector_stores() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="example-store",
            kind=Kind.VECTOR_STORE,
            config_model=ExampleStoreConfig,
            factory=_build,
            capabilities=CAPABILITIES,
            summary="Example store: one JSON file per collection, exact cosine search.",
            contract_level=4,  # the suite version this store was last checked against
        )
    ]
