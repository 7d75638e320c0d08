"""Every distribution's packaging metadata, read from its pyproject.toml (fast; `make dist`
builds and checks the real sdists and wheels): what an index and a user installing from it
need, and siblings bound to each other's version series."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
DISTS = [REPO, REPO / "contract_tests", REPO / "contract_tests/examples/memstack-example-store",
         *sorted(p for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists())]
APACHE = (REPO / "LICENSE").read_text(encoding="utf-8")


def project(root: Path) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def versions() -> dict[str, Version]:
    """name → version of every distribution in the repository (static or `__version__`)."""
    out = {}
    for root in DISTS:
        doc = project(root)
        name = doc["project"]["name"]
        if "version" in doc["project"]:
            out[name] = Version(doc["project"]["version"])
            continue
        attr = doc["tool"]["setuptools"]["dynamic"]["version"]["attr"]
        module = attr.rsplit(".", 1)[0]
        base = root / ("core" if root == REPO else "src")
        path = base / module.replace(".", "/")
        src = (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")
        out[name] = Version(re.search(r'__version__ = "([^"]+)"', src.read_text())[1])
    return out


def test_the_license_is_the_apache_2_0_text():
    assert APACHE.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in APACHE
    assert "END OF TERMS AND CONDITIONS" in APACHE


@pytest.mark.parametrize("root", DISTS, ids=lambda p: p.name if p != REPO else "memstack")
def test_metadata_fit_for_an_index(root):
    doc = project(root)
    meta = doc["project"]
    where = meta["name"]
    assert (root / "LICENSE").read_text(encoding="utf-8") == APACHE, where
    assert meta.get("license") == "Apache-2.0", f"{where}: license must be the SPDX string"
    assert meta.get("license-files") == ["LICENSE"], where
    assert not any(c.startswith("License ::") for c in meta.get("classifiers", [])), where
    assert meta.get("classifiers") and meta.get("keywords"), where
    assert {"Homepage", "Source", "Issues"} <= set(meta.get("urls", {})), where
    assert all(u.startswith("https://") for u in meta["urls"].values()), where
    requires = doc["build-system"]["requires"]
    assert any(r.startswith("setuptools>=") and Version(r.split(">=")[1]) >= Version("77")
               for r in requires), f"{where}: SPDX license strings need setuptools>=77"
    manifest = (root / "MANIFEST.in").read_text() if (root / "MANIFEST.in").exists() else ""
    if (root / "tests").is_dir():
        assert "graft tests" in manifest, f"{where}: the sdist must carry tests/ with conftest"


@pytest.mark.parametrize("root", DISTS, ids=lambda p: p.name if p != REPO else "memstack")
def test_siblings_are_bound_to_a_version_series(root):
    known = versions()
    meta = project(root)["project"]
    reqs = list(meta.get("dependencies", []))
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    for text in reqs:
        req = Requirement(text)
        if req.name not in known:
            continue
        spec = str(req.specifier)
        assert "<" in spec and ">=" in spec, f"{meta['name']}: {text!r} has no upper bound"
        assert known[req.name] in req.specifier, f"{meta['name']}: {text!r} excludes " \
            f"{req.name} {known[req.name]}"


@pytest.mark.parametrize("root", DISTS, ids=lambda p: p.name if p != REPO else "memstack")
def test_every_package_ships_py_typed(root):
    base = root / "core" if root == REPO else root / "src"
    packages = [p for p in base.iterdir() if (p / "__init__.py").exists()]
    assert packages, root
    for pkg in packages:
        assert (pkg / "py.typed").exists(), f"{pkg.name} has no py.typed"


# ---- the checker behind `make dist` catches what it is for -----------------------------------
def _load_dist_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("memstack_dist_tool", REPO / "tools/dist.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


GOOD_METADATA = """\
Metadata-Version: 2.4
Name: memstack-acme
Version: 0.1.0
License-Expression: Apache-2.0
License-File: LICENSE
Keywords: memstack
Classifier: Typing :: Typed
Project-URL: Homepage, https://github.com/memstack/memstack
Project-URL: Source, https://github.com/memstack/memstack
Project-URL: Issues, https://github.com/memstack/memstack/issues
Requires-Dist: memstack>=0.1,<0.2
Description-Content-Type: text/markdown

# memstack-acme

```
pip install memstack-acme
```

See [memstack](https://github.com/memstack/memstack).
"""


def _wheel(tmp_path, metadata: str, *, license_file=True, typed=True):
    import zipfile

    path = tmp_path / "memstack_acme-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("memstack_acme/__init__.py", "")
        if typed:
            zf.writestr("memstack_acme/py.typed", "")
        zf.writestr("memstack_acme-0.1.0.dist-info/METADATA", metadata)
        if license_file:
            zf.writestr("memstack_acme-0.1.0.dist-info/licenses/LICENSE", APACHE)
    return path


def _problems(tmp_path, metadata=GOOD_METADATA, strict=True, **kw):
    tool = _load_dist_tool()
    report = tool.Report()
    tool.check_wheel(_wheel(tmp_path, metadata, **kw), {"memstack": "0.1.0"}, report, strict)
    return report.errors


def test_the_dist_checker_passes_a_good_wheel(tmp_path):
    assert _problems(tmp_path) == []


@pytest.mark.parametrize(("change", "expected"), [
    (("memstack>=0.1,<0.2", "memstack"), "has no range"),
    (("memstack>=0.1,<0.2", "memstack>=0.2,<0.3"), "excludes the memstack built here"),
    (("License-Expression: Apache-2.0\n", ""), "License-Expression is None"),
    (("Project-URL: Source, https://github.com/memstack/memstack\n", ""), "Project-URL 'Source'"),
    (("pip install memstack-acme", "make install"), "pip install"),
    (("(https://github.com/memstack/memstack)", "(../../README.md)"), "breaks on an index page"),
])
def test_the_dist_checker_names_each_problem(tmp_path, change, expected):
    errors = _problems(tmp_path, GOOD_METADATA.replace(*change))
    assert len(errors) == 1 and expected in errors[0], errors


def test_the_dist_checker_wants_the_license_file_and_py_typed(tmp_path):
    assert any("LICENSE is not in the wheel" in e for e in _problems(tmp_path, license_file=False))
    assert any("ships no py.typed" in e for e in _problems(tmp_path, typed=False))
