"""Demo data for this app, run by `manage.py seed_demo` (clinic/demo_hooks.py).

Analytics has no data of its own: once the patients and visits exist, refresh the rollups so
the analyst's dashboards show them.
"""

from __future__ import annotations

from typing import Any

from clinic.demo_hooks import register


@register
def refresh_rollups(command: Any, staff: dict, options: dict) -> None:
    from analytics.refresh import refresh_all

    total = refresh_all()
    command.stdout.write(f"Analytics rollups refreshed in {total:.2f} s")
