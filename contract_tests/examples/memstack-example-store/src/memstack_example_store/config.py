"""The config model: validated by the core before the factory sees it; unknown keys are errors."""

from __future__ import annotations

from pydantic import Field

from memstack.paths import data_home
from memstack.spec import VectorStoreConfig


class ExampleStoreConfig(VectorStoreConfig):
    """`collection` and `dimension` come from VectorStoreConfig (the engine fills `dimension`)."""

    path: str = Field(
        default_factory=lambda: str(data_home() / "example-store"),
        description="Directory holding one JSON file per collection.",
    )
