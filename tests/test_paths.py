"""Default locations: data and rebuildable caches follow $MEMSTACK_HOME, else the XDG variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from memstack.paths import cache_home, data_home


def test_memstack_home_holds_data_and_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home"
    assert cache_home() == tmp_path / "home" / "cache"


def test_xdg_variables_without_memstack_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("MEMSTACK_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_home() == tmp_path / "data" / "memstack"
    assert cache_home() == tmp_path / "cache" / "memstack"


def test_home_directory_fallbacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("MEMSTACK_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_home() == tmp_path / ".local" / "share" / "memstack"
    assert cache_home() == tmp_path / ".cache" / "memstack"
