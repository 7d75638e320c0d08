"""The guard catches overridden or removed contract tests (unless strict xfail); versions gate."""

from __future__ import annotations

import pytest

from memstack_contract import VectorStoreContract, guard
from memstack_contract.reasons import reason_newer
from memstack_contract.versioning import CONTRACT_VERSION

FILE = "contract_tests/tests/contract_guard_cases.py"
SELECT = "test_contract_guard or test_empty_store or test_upsert_existing or test_new_in_next"


@pytest.fixture(scope="module")
def run(suite_runner, tmp_path_factory):
    return suite_runner([FILE, "-k", SELECT], tmp_path_factory.mktemp("guard"))


def test_fair_classes_pass_the_guard(run):
    for cls in ("TestGuardXfailByName", "TestGuardXfailOverride", "TestGuardXpassStrict",
                "TestVersionLevelNow", "TestVersionLevelNext"):
        assert run.outcomes(cls)["test_contract_guard"][0] == "pass", cls


def test_declared_known_failures_run_as_strict_xfail(run):
    assert run.outcomes("TestGuardXfailByName")["test_upsert_existing_id_replaces"] == (
        "xfail", "appends on upsert: known bug #1")
    assert run.outcomes("TestGuardXfailOverride")["test_empty_store"][0] == "xfail"
    outcome, reason = run.outcomes("TestGuardXpassStrict")["test_empty_store"]
    assert outcome == "fail" and "XPASS(strict)" in reason


@pytest.mark.parametrize(("cls", "words"), [
    ("TestGuardPlainOverride", "overrides a contract test without"),
    ("TestGuardRemoved", "removes a contract test"),
    ("TestGuardFixtureOverride", "overrides part of the suite"),
    ("TestGuardNonStrictXfail", "overrides a contract test without"),
    ("TestGuardBadXfailName", "not a contract test"),
    ("TestGuardSkippedClass", "overrides a contract test without"),
])
def test_rule_breakers_fail_the_guard(run, cls, words):
    outcome, reason = run.outcomes(cls)["test_contract_guard"]
    assert outcome == "fail" and words in reason, reason


def test_class_level_skip_still_skips_the_rest(run):
    assert run.outcomes("TestGuardSkippedClass")["test_empty_store"] == (
        "skip", "server not running")


def test_removing_the_guard_fails_every_test_of_the_class(run):
    outcomes = run.outcomes("TestGuardTampered")
    assert "test_contract_guard" not in outcomes
    assert outcomes and all(o == "fail" for o, _ in outcomes.values()), outcomes
    assert "contract guard:" in outcomes["test_upsert_existing_id_replaces"][1]


def test_newer_tests_skip_for_older_contract_levels(run):
    now = CONTRACT_VERSION
    assert run.outcomes("TestVersionLevelNow")["test_new_in_next"] == (
        "skip", reason_newer(now + 1, now))
    assert run.outcomes("TestVersionLevelNext")["test_new_in_next"] == ("pass", "")


# ---- the same rules, checked in-process on classes that pytest never collects ------------------
class Fair(VectorStoreContract):
    provider = "memory"
    variant = "fair"
    consistency_timeout = 3.0

    @pytest.fixture
    def provider_config(self):
        return {}


class Unfair(VectorStoreContract):
    provider = "memory"
    dimension = 3  # the suite's data set is 8-dimensional: not a knob
    test_reset_empties = None

    def test_upsert_get_delete(self, store):
        pass


def test_violations_in_process():
    assert guard.violations(Fair) == []
    problems = guard.violations(Unfair)
    assert len(problems) == 3
    assert any("Unfair.dimension overrides part of the suite" in p for p in problems)
    assert any("Unfair.test_reset_empties removes a contract test" in p for p in problems)
    assert any("Unfair.test_upsert_get_delete overrides a contract test" in p for p in problems)
    assert guard.violations(VectorStoreContract) == []  # the suite itself is not judged


def test_every_contract_test_is_marked_and_grouped():
    from memstack_contract import CONTRACTS
    from memstack_contract.report import GROUP_ORDER
    from memstack_contract.versioning import CONTRACT_VERSION, contract_info

    for kind, cls in CONTRACTS.items():
        names = guard.contract_test_names(cls)
        tests = {n for n in dir(cls) if n.startswith("test_")}
        assert names == tests, f"{kind}: unmarked tests {tests - names}"
        for n in names:
            info = contract_info(getattr(cls, n))
            assert 1 <= info.since <= CONTRACT_VERSION
            assert info.group in GROUP_ORDER[kind], (kind, n, info.group)
