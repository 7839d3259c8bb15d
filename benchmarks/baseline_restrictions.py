"""BENCHMARK-ONLY template library, named `restrictions` in benchmarks/baseline_settings.py in
place of rights/templatetags/restrictions.py: the baseline's pages show no restriction banner.
The banner reads `restrictions`, which only the signed-in group roles may read under row-level
security (rights/db_restrictions.py); the baseline runs on the owner login, which may not. So
the baseline page runs one statement fewer than the secure one (counted against security)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("includes/restriction_banner.html", takes_context=True)
def restriction_banner(context: dict[str, Any], patient_id: Any) -> dict[str, Any]:
    return {"restrictions": []}
