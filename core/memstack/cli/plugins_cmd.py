"""`memstack plugins` and `memstack config ...`."""

from __future__ import annotations

import json
from typing import Any

from memstack.cli import output
from memstack.hookspecs import REGISTRATION_HOOKS


def plugin_rows() -> list[dict[str, Any]]:
    """Every discovered plugin with its status, providers by kind and other hooks
    (pipeline, commands)."""
    from memstack.plugins import plugin_system
    from memstack.registry import get_registry

    system = plugin_system()
    registry = get_registry()
    rows = []
    for name, info in system.infos.items():
        providers: dict[str, list[dict[str, Any]]] = {}
        for spec in registry.specs.values():
            if spec.plugin == name:
                providers.setdefault(str(spec.kind), []).append(
                    {"name": spec.name, "capabilities": sorted(spec.capabilities),
                     "summary": spec.summary, "contract_level": spec.contract_level})
        hooks = []
        if info.plugin is not None and system.pm.is_registered(info.plugin):
            hooks = sorted(h.name for h in system.pm.get_hookcallers(info.plugin) or []
                           if h.name not in REGISTRATION_HOOKS.values())
        rows.append({"plugin": name, "distribution": info.distribution,
                     "version": info.version, "module": info.module, "status": info.status,
                     "error": info.error, "providers": providers, "hooks": hooks})
    conflicts = [{"kind": k, "name": n, "distributions": d}
                 for (k, n), d in registry.conflicts.items()]
    if conflicts:
        for row in rows:
            row["conflicts"] = [c for c in conflicts if row["distribution"] in c["distributions"]]
    return rows


def cmd_plugins(args: Any) -> int:
    rows = plugin_rows()
    if args.json:
        output.emit_json(rows)
        return 0
    table_rows = []
    for r in rows:
        provs = "; ".join(f"{kind}: " + ", ".join(p["name"] for p in ps)
                          for kind, ps in sorted(r["providers"].items()))
        status = r["status"] + (f" — {r['error']}" if r["error"] else "")
        table_rows.append([r["distribution"], r["version"], status, provs or "-",
                           ", ".join(r["hooks"]) or "-"])
    output.table("memstack plugins", ["distribution", "version", "status", "providers",
                                      "hooks"], table_rows)
    if args.verbose:
        caps = []
        for r in rows:
            for kind, ps in sorted(r["providers"].items()):
                for p in ps:
                    caps.append([kind, p["name"], ", ".join(p["capabilities"]) or "-",
                                 p["summary"]])
        output.table("providers", ["kind", "name", "capabilities", "summary"], caps)
    return 1 if any(r["status"] == "failed" for r in rows) and args.strict else 0


def cmd_config_validate(args: Any) -> int:
    from memstack.config import load_config
    from memstack.stack import validate_providers

    config = load_config(args.file)
    validated = validate_providers(config)
    if args.json:
        output.emit_json({"valid": True, "providers": {
            k: getattr(config, k).provider for k in validated}})
    else:
        kinds = ", ".join(f"{k}={getattr(config, k).provider}" for k in validated)
        output.console().print(f"[green]valid[/green]: {args.file} ({kinds})")
    return 0


def cmd_config_schema(args: Any) -> int:
    from memstack.config import MemoryConfig
    from memstack.registry import get_registry

    if args.kind == "memory":
        schema = MemoryConfig.model_json_schema()
    else:
        if not args.name:
            raise SystemExit("usage: memstack config schema KIND NAME")
        schema = get_registry().get(args.kind, args.name).config_model.model_json_schema()
    print(json.dumps(schema, indent=2))
    return 0
