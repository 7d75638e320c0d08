"""Where memstack keeps data by default: ``$MEMSTACK_HOME``, else the XDG data directory."""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    """``$MEMSTACK_HOME``, or ``$XDG_DATA_HOME/memstack``, or ``~/.local/share/memstack``."""
    if os.environ.get("MEMSTACK_HOME"):
        return Path(os.environ["MEMSTACK_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "memstack"


def cache_home() -> Path:
    """Files memstack can rebuild (e.g. exported models): ``$MEMSTACK_HOME/cache``, else
    ``$XDG_CACHE_HOME/memstack``, else ``~/.cache/memstack``."""
    if os.environ.get("MEMSTACK_HOME"):
        return Path(os.environ["MEMSTACK_HOME"]).expanduser() / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "memstack"
