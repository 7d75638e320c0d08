"""Contract classes generated from `--memstack-provider KIND:NAME [--memstack-config JSON]`.

The pytest plugin adds this file to the session's arguments when those options are given; on import
it defines one `Test<Name><Kind>Contract` class per target. Without targets it defines nothing.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from memstack_contract.check import substitute_tmp_path as _substitute
from memstack_contract.pytest_plugin import active_targets, active_xfails


def make_contract_class(
    kind: str, name: str, config: dict[str, Any], xfail: dict[str, str] | None = None
) -> type:
    """A contract class for `name` of `kind`, configured with `config`; `xfail` is its
    `contract_xfail` (known failures, checked by the guard like any class's)."""
    from memstack_contract import CONTRACTS

    base = CONTRACTS[kind]
    frozen = copy.deepcopy(config)

    @pytest.fixture
    def provider_config(self: Any, tmp_path: Any) -> dict[str, Any]:
        return _substitute(copy.deepcopy(frozen), str(tmp_path))

    camel = "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", name) if p)
    kind_camel = "".join(p.capitalize() for p in kind.split("_"))
    cls_name = f"Test{camel}{kind_camel}Contract"
    return type(cls_name, (base,), {
        "provider": name,
        "provider_config": provider_config,
        "contract_xfail": dict(xfail or {}),
        "__module__": __name__,
        "__doc__": f"Contract suite for {kind} provider {name!r} (generated).",
    })


for _kind, _name, _config in active_targets():
    _cls = make_contract_class(_kind, _name, _config, active_xfails())
    globals()[_cls.__name__] = _cls
