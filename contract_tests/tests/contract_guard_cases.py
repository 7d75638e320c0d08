"""Contract classes that bend the rules (and some that follow them), for the guard's own tests.

Not collected on its own: `test_contract_meta_guard.py` runs it in a subprocess and checks outcomes.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from contract_broken_stores import AppendsOnUpsert

from memstack.registry import get_registry
from memstack_contract import VectorStoreContract, contract
from memstack_contract.guard import suite_class
from memstack_contract.versioning import CONTRACT_VERSION


@pytest.fixture
def appending_factory(self):
    return AppendsOnUpsert


class TestGuardXfailByName(VectorStoreContract):
    """Fair: a known bug declared by name runs as a strict expected failure."""

    provider_factory = appending_factory
    contract_xfail: ClassVar[dict[str, str]] = {
        "test_upsert_existing_id_replaces": "appends on upsert: known bug #1"
    }


class TestGuardXfailOverride(VectorStoreContract):
    """Fair: an override marked xfail(strict=True, reason=...)."""

    provider = "memory"

    @pytest.mark.xfail(strict=True, reason="demonstrates a declared override")
    def test_empty_store(self, store):
        raise AssertionError("pretend the backend is broken here")


class TestGuardXpassStrict(VectorStoreContract):
    """A claimed bug that is not there: strict xfail turns the pass into a failure."""

    provider = "memory"
    contract_xfail: ClassVar[dict[str, str]] = {
        "test_empty_store": "claimed bug that does not exist"
    }


class TestGuardPlainOverride(VectorStoreContract):
    provider = "memory"

    def test_empty_store(self, store):
        pass  # "passes" without checking anything


class TestGuardRemoved(VectorStoreContract):
    provider = "memory"
    test_empty_store = None


class TestGuardFixtureOverride(VectorStoreContract):
    provider = "memory"

    def load(self, store, records):  # skips the count check after writing
        store.upsert(records)


class TestGuardNonStrictXfail(VectorStoreContract):
    provider = "memory"

    @pytest.mark.xfail(reason="non-strict: would hide a fix")
    def test_empty_store(self, store):
        raise AssertionError


class TestGuardBadXfailName(VectorStoreContract):
    provider = "memory"
    contract_xfail: ClassVar[dict[str, str]] = {"test_does_not_exist": "typo"}


class TestGuardTampered(VectorStoreContract):
    """Removes the guard itself: then every test of the class fails."""

    provider = "memory"
    test_contract_guard = None

    def test_empty_store(self, store):
        pass


@pytest.mark.skip(reason="server not running")
class TestGuardSkippedClass(VectorStoreContract):
    """A class-level skip does not hide a violation from the guard."""

    provider = "memory"

    def test_empty_store(self, store):
        pass


# ---- versions: a future suite release adds a test in contract version 2 -----------------------
NEXT = CONTRACT_VERSION + 1  # a suite release that does not exist yet


@suite_class
class VectorStoreContractNext(VectorStoreContract):
    @contract(since=NEXT, group="crud")
    def test_new_in_next(self, store):
        assert store.count() == 0


class TestVersionLevelNow(VectorStoreContractNext):
    """The memory spec targets today's contract level: the newer test is skipped, saying why."""

    provider = "memory"


class TestVersionLevelNext(VectorStoreContractNext):
    """A hand-made provider targeting the next level runs it."""

    contract_level = NEXT

    @pytest.fixture
    def provider_factory(self):
        return lambda config: get_registry().build("vector_store", "memory", config)
