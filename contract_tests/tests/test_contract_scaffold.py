"""`memstack plugin new`: every kind is generated ruff-clean, installs as a package of its own and
passes the whole contract suite on the first run; bad input is one clear error.

The plugins are pip-installed (--no-deps, into a private --target directory) from their own
pyproject, so entry points, package data and the `memstack` group work as they will for an
author; the fresh-virtualenv version of this runs under `make dist-check` (tests/test_dist.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from memstack.errors import ConfigError
from memstack.version import __version__ as memstack_version
from memstack_contract.scaffold.generate import KINDS, generate, version_range

MEMSTACK = str(Path(sys.executable).with_name("memstack"))
NAMES = {kind: f"acme-{kind.split('_')[0]}" for kind in KINDS}  # acme-vector, acme-history, ...


def new(name: str, kind: str, parent: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MEMSTACK, "plugin", "new", name, "--kind", kind, "--dir", str(parent)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MEMSTACK_HOME": str(parent / "home")})


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("scaffold")
    for kind, name in NAMES.items():
        done = new(name, kind, parent)
        assert done.returncode == 0, done.stderr
        assert f"memstack-{name}" in done.stdout
    return parent


def test_every_kind_has_the_complete_layout(generated):
    for kind, name in NAMES.items():
        root = generated / f"memstack-{name}"
        pkg = root / "src" / f"memstack_{name.replace('-', '_')}"
        module = KINDS[kind].module
        for rel in ("pyproject.toml", "README.md", ".github/workflows/contract.yml", ".gitignore"):
            assert (root / rel).is_file(), f"{kind}: {rel}"
        for rel in ("__init__.py", "py.typed", "plugin.py", "capabilities.py", "config.py",
                    f"{module}.py"):
            assert (pkg / rel).is_file(), f"{kind}: {rel}"
        [test] = (root / "tests").glob("test_*_contract.py")
        assert KINDS[kind].contract in test.read_text()
        assert (root / "README.md").read_text().splitlines()[3] == f"pip install memstack-{name}"
        workflow = (root / ".github/workflows/contract.yml").read_text()
        steps = yaml.safe_load(workflow)["jobs"]["contract"]["steps"]
        commands = " ".join(step.get("run", "") for step in steps)
        assert "pip install -e '.[test]'" in commands and "pytest" in commands
        assert "ruff check" in commands and "${{ matrix.python-version }}" in workflow


def test_pyproject_pins_the_running_memstack_and_names_the_entry_point(generated):
    doc = tomllib.loads((generated / "memstack-acme-vector" / "pyproject.toml").read_text())
    project = doc["project"]
    assert project["dependencies"] == [f"memstack{version_range(memstack_version)}"]
    assert project["entry-points"]["memstack"] == {"acme-vector": "memstack_acme_vector.plugin"}
    assert any(r.startswith("memstack-contract-tests>=") for r in
               project["optional-dependencies"]["test"])
    major, minor = (int(x) for x in memstack_version.split(".")[:2])
    assert version_range("0.1.7") == ">=0.1,<0.2" and version_range("2.3.0") == ">=2.3,<3"
    assert version_range(memstack_version).startswith(f">={major}.{minor},")


def ruff(parent: Path) -> subprocess.CompletedProcess[str]:
    """One ruff run over every package under `parent`; each file gets the config of its own
    package's pyproject.toml (ruff's hierarchical configuration), as in the author's repo."""
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(parent)],
                          capture_output=True, text=True, timeout=120)


def test_generated_code_passes_ruff(generated):
    done = ruff(generated)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}"
    files = list(generated.glob("memstack-*/**/*.py"))
    assert len(files) == 5 * 6, sorted(str(f) for f in files)


def test_longest_allowed_name_still_passes_ruff(tmp_path):
    name = "abcdefghijkl-mnopqrstuvw"  # 24 characters, the limit
    for kind in KINDS:
        generate(name, kind, tmp_path / kind)
    done = ruff(tmp_path)
    assert done.returncode == 0, done.stdout


def test_a_bad_name_is_one_config_error(tmp_path):
    done = new("Acme Store", "vector_store", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: plugin name 'Acme Store' is not allowed")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.glob("memstack-*"))
    for bad in ["acme_store", "9acme", "a" * 25, "acme-", "acme--db", ""]:
        with pytest.raises(ConfigError) as info:
            generate(bad, "vector_store", tmp_path)
        assert info.value.field == "name"
    assert not any(tmp_path.glob("memstack-*"))
    assert generate("memstack-acme", "llm", tmp_path).name == "memstack-acme"  # prefix dropped


def test_refuses_to_write_into_a_non_empty_directory(tmp_path):
    target = tmp_path / "memstack-acme"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    done = new("acme", "embedder", tmp_path)
    assert done.returncode == 2 and "not empty" in done.stderr
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_unknown_kind_is_refused_by_the_parser(tmp_path):
    done = new("acme", "graph_store", tmp_path)
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_generated_plugins_pass_the_contract_suite(generated, suite_runner, tmp_path):
    site = tmp_path / "site"
    sources = [str(generated / f"memstack-{name}") for name in NAMES.values()]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), *sources],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    tests = [str(Path(s) / "tests") for s in sources]
    run = suite_runner(tests, tmp_path, cwd=tmp_path,
                       env={"PYTHONPATH": str(site), "MEMSTACK_HOME": str(tmp_path / "home")})
    assert run.returncode == 0, run.output[-4000:]
    found = {p["provider"]: p for p in run.report["providers"]}
    assert set(found) == set(NAMES.values())
    for name, prov in found.items():
        assert prov["distribution"] == f"memstack-{name}"
        statuses = {g: v["status"] for g, v in prov["groups"].items()}
        assert "fail" not in statuses.values(), (name, statuses)
        assert statuses["plugin"] == "pass", (name, statuses)
