"""Apps add demo data by registering a hook here (patients and visits come from their apps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[[Any, dict, dict], None]
_HOOKS: list[Hook] = []


def register(hook: Hook) -> Hook:
    _HOOKS.append(hook)
    return hook


# Modules that register hooks, in the order their data depends on each other.
DEMO_MODULES = ["patients.demo", "records.demo", "scheduling.demo", "analytics.demo", "chart.demo"]


def run_demo_hooks(command: Any, staff: dict, options: dict) -> None:
    from importlib import import_module

    for module in DEMO_MODULES:
        import_module(module)

    for hook in _HOOKS:
        hook(command, staff, options)
