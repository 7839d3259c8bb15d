"""Apps add demo data by registering a hook here (patients and visits come from their apps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[[Any, dict, dict], None]
_HOOKS: list[Hook] = []


def register(hook: Hook) -> Hook:
    _HOOKS.append(hook)
    return hook


def run_demo_hooks(command: Any, staff: dict, options: dict) -> None:
    import clinic.provisioning_steps  # noqa: F401  (imports the apps' modules)

    for hook in _HOOKS:
        hook(command, staff, options)
