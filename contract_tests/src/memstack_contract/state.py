"""Per-test facts the fixtures learn and the report needs (kept on the pytest item)."""

from __future__ import annotations

from typing import Any

import pytest

# {"capabilities": [...], "distribution": ..., "version": ..., "contract_level": ...}
PROVIDER_FACTS = pytest.StashKey[dict[str, Any]]()
