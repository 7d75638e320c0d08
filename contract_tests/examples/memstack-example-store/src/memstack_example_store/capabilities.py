"""What the store declares. Its own module, imported by both `plugin` and `store`: the plugin
module must not import the store (that would load the backend at start-up), and the store must
not import the plugin module (that would be an import loop)."""

from __future__ import annotations

from memstack import capabilities as caps

# Declare only what the store really does; the contract suite holds it to every word.
CAPABILITIES = frozenset(caps.ALL_FILTER_CAPS | {caps.EXACT_SEARCH, caps.PERSISTENT})
