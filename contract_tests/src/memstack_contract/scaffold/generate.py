"""The generator behind `memstack plugin new`: names, version ranges, templates → files.

Templates are plain files with `@@key@@` placeholders (not `{key}`: the CI workflow's own
`${{ ... }}` expressions must pass through untouched). Each kind has four of its own (config,
capabilities, provider module, contract test); the rest is shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from memstack.errors import ConfigError

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_NAME = 24  # keeps every generated line within 100 characters


@dataclass(frozen=True)
class KindInfo:
    """Where a kind differs: module and class names, registration hook, contract class."""

    module: str  # the provider module inside the package
    suffix: str  # class name suffix: AcmeStore, AcmeEmbedder, ...
    hook: str
    enum: str  # memstack.capabilities.Kind member
    contract: str  # memstack_contract class the test subclasses
    summary: str


KINDS: dict[str, KindInfo] = {
    "vector_store": KindInfo("store", "Store", "memstack_vector_stores", "VECTOR_STORE",
                             "VectorStoreContract",
                             "exact cosine search over records in memory"),
    "embedder": KindInfo("embedder", "Embedder", "memstack_embedders", "EMBEDDER",
                         "EmbedderContract", "deterministic feature-hashing embeddings"),
    "llm": KindInfo("llm", "LLM", "memstack_llms", "LLM", "LLMContract",
                    "replies chosen by the last user message"),
    "reranker": KindInfo("reranker", "Reranker", "memstack_rerankers", "RERANKER",
                         "RerankerContract", "ranks documents by shared query words"),
    "history_store": KindInfo("history", "HistoryStore", "memstack_history_stores",
                              "HISTORY_STORE", "HistoryStoreContract",
                              "history of every change in a SQLite file"),
}

# template (under templates/) → path in the new package; `{pkg}`, `{module}`, `{test}` filled in
COMMON = {
    "common/pyproject.toml.tmpl": "pyproject.toml",
    "common/README.md.tmpl": "README.md",
    "common/gitignore.tmpl": ".gitignore",
    "common/contract.yml.tmpl": ".github/workflows/contract.yml",
    "common/__init__.py.tmpl": "src/{pkg}/__init__.py",
    "common/py.typed.tmpl": "src/{pkg}/py.typed",
    "common/plugin.py.tmpl": "src/{pkg}/plugin.py",
}
PER_KIND = {
    "config.py.tmpl": "src/{pkg}/config.py",
    "capabilities.py.tmpl": "src/{pkg}/capabilities.py",
    "provider.py.tmpl": "src/{pkg}/{module}.py",
    "test_contract.py.tmpl": "tests/{test}",
}


def version_range(version: str) -> str:
    """`>=X.Y,<X.Y+1` before 1.0 (a 0.x minor may break), `>=X.Y,<X+1` from 1.0 on."""
    m = re.match(r"^(\d+)\.(\d+)", version)
    if not m:
        raise ConfigError(f"cannot derive a version range from {version!r}", field="version",
                          given=version, allowed="a version like 0.1.0")
    major, minor = int(m[1]), int(m[2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


def names(name: str, kind: str) -> dict[str, str]:
    """Every name the templates use, from the provider name and kind."""
    given = name
    name = name.strip().lower()
    name = name.removeprefix("memstack-")
    if not NAME.match(name) or len(name) > MAX_NAME:
        raise ConfigError(
            f"plugin name {given!r} is not allowed", field="name", given=given,
            allowed=f"lowercase letters and digits, words joined by '-', starting with a letter, "
            f"at most {MAX_NAME} characters (e.g. 'acme' or 'acme-db')")
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}", field="kind", given=kind,
                          allowed=", ".join(KINDS))
    from memstack.version import __version__ as memstack_version
    from memstack_contract import CONTRACT_VERSION
    from memstack_contract import __version__ as contract_version

    info = KINDS[kind]
    snake = name.replace("-", "_")
    camel = "".join(part.capitalize() for part in name.split("-"))
    cls = f"{camel}{info.suffix}"
    return {
        "name": name,
        "kind": kind,
        "dist": f"memstack-{name}",
        "pkg": f"memstack_{snake}",
        "snake": snake,
        "class": cls,
        "config_class": f"{camel}Config",
        "module": info.module,
        "hook": info.hook,
        "enum": info.enum,
        "contract": info.contract,
        "summary": info.summary,
        "test": f"test_{snake}_contract.py",
        "memstack_req": f"memstack{version_range(memstack_version)}",
        "contract_req": f"memstack-contract-tests{version_range(contract_version)}",
        "contract_level": str(CONTRACT_VERSION),
    }


def render(text: str, values: dict[str, str]) -> str:
    out = re.sub(r"@@(\w+)@@", lambda m: values[m[1]], text)
    return out


def files(name: str, kind: str) -> dict[str, str]:
    """{relative path: content} of the new package (nothing written)."""
    values = names(name, kind)
    root = resources.files("memstack_contract.scaffold") / "templates"
    plan = {**COMMON, **{f"{kind}/{src}": dst for src, dst in PER_KIND.items()}}
    return {
        dst.format(**values): render((root / src).read_text(encoding="utf-8"), values)
        for src, dst in plan.items()
    }


def generate(name: str, kind: str, parent: str | Path = ".") -> Path:
    """Write the package into `parent/memstack-NAME/` (which must not exist or be empty)."""
    content = files(name, kind)
    target = Path(parent) / names(name, kind)["dist"]
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} already exists and is not empty; choose another name or "
                          "--dir", field="dir", given=str(target), allowed="a new directory")
    for rel, text in content.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
