"""`make dist`: build every distribution's sdist and wheel into dist/ and check what was built.

Why a checker of our own rather than only `twine check`: besides the metadata an index needs
(SPDX license, license file, project URLs, classifiers, a README that renders), memstack's
packages must fit together and stand alone — siblings bound to a version range, `py.typed`
shipped, and an sdist that carries its tests *with* the conftest and helpers they import
(compared with what git tracks under tests/). The wheel is built from the sdist, so a file the
sdist forgot breaks the build here, not for the person installing it.

    python tools/dist.py [--out dist] [--check-only] [--strict]

Problems are errors (exit 1); README issues (relative links, no `pip install` near the top) are
warnings unless --strict.
"""

from __future__ import annotations

import argparse
import email.parser
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Every distribution we publish; the worked example under contract_tests/examples is not one.
SOURCES = [REPO, REPO / "contract_tests", *sorted(p for p in (REPO / "plugins").iterdir()
                                                  if (p / "pyproject.toml").exists())]
SIBLING = re.compile(r"^(memstack(?:-[a-z0-9-]+)?)(\[[^\]]*\])?\s*(.*)$")
# a markdown link or image whose target is neither absolute nor an in-page anchor
RELATIVE_LINK = re.compile(r"!?\[[^\]]*\]\((?!https?://|mailto:|#)([^)\s]+)\)")


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, where: str, what: str) -> None:
        self.errors.append(f"{where}: {what}")

    def warn(self, where: str, what: str) -> None:
        self.warnings.append(f"{where}: {what}")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def build(source: Path, out: Path) -> None:
    """sdist, then the wheel from the unpacked sdist (python -m build's default order)."""
    cmd = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build failed for {source}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    for line in (done.stdout + done.stderr).splitlines():
        if "SetuptoolsDeprecationWarning" in line or "License classifiers are deprecated" in line:
            print(f"  warning ({source.name}): {line.strip()}")


def tracked(directory: Path) -> list[str]:
    """Files git tracks under `directory`, relative to it (what an sdist must carry)."""
    done = subprocess.run(["git", "ls-files", "--", "."], cwd=directory, capture_output=True,
                          text=True, check=True)
    return [line for line in done.stdout.splitlines() if line]


def check_metadata(where: str, meta: email.message.Message, versions: dict[str, str],
                   report: Report, strict: bool) -> None:
    if meta.get("License-Expression") != "Apache-2.0":
        report.error(where, f"License-Expression is {meta.get('License-Expression')!r}, "
                     "expected 'Apache-2.0' (SPDX string in pyproject `license`)")
    if "LICENSE" not in (meta.get_all("License-File") or []):
        report.error(where, "no License-File: LICENSE (pyproject `license-files`)")
    if meta.get("License"):
        report.error(where, "deprecated License field set (use the SPDX `license` string)")
    if any(c.startswith("License ::") for c in meta.get_all("Classifier") or []):
        report.error(where, "License :: classifiers conflict with an SPDX license expression")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    for key in ("Homepage", "Source", "Issues"):
        if key not in urls:
            report.error(where, f"no Project-URL {key!r} (have {sorted(urls)})")
    if not meta.get_all("Classifier"):
        report.error(where, "no classifiers")
    if not meta.get("Keywords"):
        report.error(where, "no keywords")
    if meta.get("Description-Content-Type", "").split(";")[0] != "text/markdown":
        report.error(where, "long description is not text/markdown (pyproject `readme`)")
    for req in meta.get_all("Requires-Dist") or []:
        spec = req.split(";")[0].strip()
        m = SIBLING.match(spec)
        if not m or normalize(m[1]) not in versions:
            continue
        bound = m[3].replace(" ", "")
        if not ("<" in bound and ">=" in bound):
            report.error(where, f"sibling requirement {spec!r} has no range (want e.g. "
                         f"'{m[1]}>=0.1,<0.2')")
        else:
            from packaging.specifiers import SpecifierSet

            if versions[normalize(m[1])] not in SpecifierSet(bound):
                report.error(where, f"{spec!r} excludes the {m[1]} built here "
                             f"({versions[normalize(m[1])]})")
    body = meta.get_payload() or ""
    head = "\n".join(body.splitlines()[:12])
    complain = report.error if strict else report.warn
    if "pip install" not in head:
        complain(where, "README does not show `pip install ...` in its first lines")
    for target in RELATIVE_LINK.findall(body):
        complain(where, f"README links to {target!r}, which breaks on an index page "
                 "(use an absolute https:// URL)")


def check_wheel(path: Path, versions: dict[str, str], report: Report, strict: bool) -> None:
    where = path.name
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        [meta_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode("utf-8"))
    check_metadata(where, meta, versions, report, strict)
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        report.error(where, "LICENSE is not in the wheel's .dist-info/licenses/")
    packages = {n.split("/")[0] for n in names if "/" in n and ".dist-info/" not in n}
    for pkg in sorted(packages):
        if f"{pkg}/py.typed" not in names:
            report.error(where, f"package {pkg!r} ships no py.typed")
    if any(n.startswith(("tests/", "test/")) for n in names):
        report.error(where, "the wheel installs a top-level tests package")


def check_sdist(path: Path, source: Path, report: Report) -> None:
    where = path.name
    with tarfile.open(path) as tf:
        names = tf.getnames()
    root = names[0].split("/")[0]
    inside = {n[len(root) + 1:] for n in names if n.startswith(root + "/")}
    for need in ("LICENSE", "pyproject.toml", "PKG-INFO", "README.md"):
        if need not in inside:
            report.error(where, f"{need} is missing")
    tests = [f for f in tracked(source / "tests")] if (source / "tests").is_dir() else []
    missing = [f"tests/{f}" for f in tests if f"tests/{f}" not in inside]
    if missing:
        report.error(where, f"tests without their files: {', '.join(missing[:8])}"
                     + (f" (+{len(missing) - 8} more)" if len(missing) > 8 else ""))
    junk = [n for n in inside if "node_modules/" in n or "__pycache__/" in n]
    if junk:
        report.error(where, f"{len(junk)} files that do not belong ({junk[0]}, ...)")


def versions_of(out: Path) -> dict[str, str]:
    found = {}
    for whl in out.glob("*.whl"):
        name, version = whl.name.split("-")[:2]
        found[normalize(name)] = version
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "dist"))
    ap.add_argument("--check-only", action="store_true", help="check what --out already holds")
    ap.add_argument("--strict", action="store_true", help="README warnings are errors")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not args.check_only:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for source in SOURCES:
            print(f"building {source.relative_to(REPO) if source != REPO else '(core)'}")
            build(source, out)
    versions = versions_of(out)
    report = Report()
    by_name = {}
    for source in SOURCES:
        with (source / "pyproject.toml").open("rb") as fh:
            by_name[normalize(tomllib.load(fh)["project"]["name"])] = source
    for name, source in sorted(by_name.items()):
        wheels = list(out.glob(f"{name}-*.whl"))
        sdists = list(out.glob(f"{name}-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            report.error(name, f"expected one wheel and one sdist in {out}, found "
                         f"{[p.name for p in wheels + sdists]}")
            continue
        check_wheel(wheels[0], versions, report, args.strict)
        check_sdist(sdists[0], source, report)
    for w in report.warnings:
        print(f"warning: {w}")
    for e in report.errors:
        print(f"error: {e}")
    print(f"{len(by_name)} distributions, {len(report.errors)} errors, "
          f"{len(report.warnings)} warnings, in {out}")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
