"""The `memstack` command, run as a user would: a real process, a config file, real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """Chroma on disk (so state survives between commands) + the hashing embedder."""
    cfg = {
        "vector_store": {"provider": "chroma", "config": {"path": str(tmp_path / "chroma")}},
        "embedder": {"provider": "hashing", "config": {"dimension": 32}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
    }
    path = tmp_path / "memstack.yaml"
    import yaml

    path.write_text(yaml.safe_dump(cfg))
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memstack.cli.main", *args],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})})


def ok_json(*args: str) -> object:
    proc = cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_add_search_list_history_delete(config_file: Path) -> None:
    c = str(config_file)
    added = ok_json("add", "I love hiking in the Alps", "--user", "u1", "--config", c)
    assert added["inferred"] is False and added["results"][0]["event"] == "ADD"
    mid = added["results"][0]["id"]
    ok_json("add", "My car is red", "--user", "u1", "--config", c,
            "--metadata", '{"topic": "car"}')
    hits = ok_json("search", "hiking", "--user", "u1", "--config", c, "--limit", "1")
    assert hits["results"][0]["memory"] == "I love hiking in the Alps"
    filtered = ok_json("list", "--user", "u1", "--config", c, "--filters", '{"topic": "car"}')
    assert [r["memory"] for r in filtered["results"]] == ["My car is red"]
    assert ok_json("list", "--user", "other", "--config", c)["results"] == []
    hist = ok_json("history", mid, "--config", c)
    assert [h["event"] for h in hist] == ["ADD"]
    deleted = ok_json("delete", mid, "--config", c)
    assert deleted["event"] == "DELETE"
    assert [h["event"] for h in ok_json("history", mid, "--config", c)] == ["ADD", "DELETE"]


def test_import_jsonl_with_progress(config_file: Path, tmp_path: Path) -> None:
    lines = [json.dumps(f"imported fact {i}") for i in range(40)]
    lines.append(json.dumps({"text": "tagged fact", "metadata": {"tag": "x"}}))
    lines.append(json.dumps("imported fact 0"))
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    proc = cli("import", str(tmp_path / "in.jsonl"), "--user", "u2", "--config", str(config_file))
    assert proc.returncode == 0, proc.stderr
    assert "imported 42 lines: 41 added, 1 already stored" in proc.stdout
    assert "41/41" in proc.stderr or "40/40" in proc.stderr  # the progress bar
    again = ok_json("import", str(tmp_path / "in.jsonl"), "--user", "u2", "--config",
                    str(config_file))
    assert again == {"lines": 42, "added": 0, "unchanged": 42}


def test_user_errors_exit_2_with_a_message(config_file: Path, tmp_path: Path) -> None:
    proc = cli("search", "x", "--config", str(config_file))
    assert proc.returncode == 2 and "at least one of user_id" in proc.stderr
    (tmp_path / "bad.jsonl").write_text('"ok"\n{broken\n')
    proc = cli("import", str(tmp_path / "bad.jsonl"), "--user", "u", "--config", str(config_file))
    assert proc.returncode == 2 and "bad.jsonl:2" in proc.stderr


def test_config_validate_and_schema(config_file: Path, tmp_path: Path) -> None:
    assert ok_json("config", "validate", str(config_file))["valid"] is True
    (tmp_path / "bad.toml").write_text('[embedder]\nprovider = "hashing"\nconfig = {dim = 3}\n')
    proc = cli("config", "validate", str(tmp_path / "bad.toml"))
    assert proc.returncode == 2 and "dim: unknown field" in proc.stderr
    proc = cli("config", "schema", "embedder", "hashing")
    assert json.loads(proc.stdout)["properties"]["dimension"]["default"] == 64


def test_plugins_table_for_people() -> None:
    proc = cli("plugins", "-v")
    assert proc.returncode == 0
    assert "memstack-contract-tests" in proc.stdout and "token-overlap" in proc.stdout
