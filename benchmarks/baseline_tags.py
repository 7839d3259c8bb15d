"""BENCHMARK-ONLY template library, named `restrictions` and `amendments` in
benchmarks/baseline_settings.py in place of rights/templatetags/restrictions.py and
amendments.py: the baseline's pages show no restriction banner and no amendments (164.522,
164.526). Their tables (`restrictions`, `amendment_entries`, `amendment_requests`) are read
only by the signed-in group roles under row-level security, and the baseline runs on the owner
login, which may not read them. So the baseline pages run those statements fewer than the
secure ones (counted against security)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("includes/restriction_banner.html", takes_context=True)
def restriction_banner(context: dict[str, Any], patient_id: Any) -> dict[str, Any]:
    return {"restrictions": []}


@register.simple_tag(takes_context=True)
def chart_amendments(context: dict[str, Any], patient_id: Any) -> dict[str, Any]:
    return {}


@register.inclusion_tag("rights/item_amendments.html")
def item_amendments(
    amended: dict[str, Any], kind: str, item_id: Any, colspan: int = 0
) -> dict[str, Any]:
    return {"attached": None, "colspan": colspan}


@register.inclusion_tag("rights/demographic_amendments.html", takes_context=True)
def demographic_amendments(context: dict[str, Any], patient_id: Any) -> dict[str, Any]:
    return {"rows": []}
