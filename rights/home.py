"""The privacy officer's home page: the console's open items (privacy/open_items.py) and the
patients' requests on their clocks (rights/clock.py)."""

from __future__ import annotations

from django.http import HttpRequest

from privacy.open_items import privacy_officer_open_items
from rights.clock import requests_on_clock


def privacy_officer_home(request: HttpRequest) -> dict[str, object]:
    return {**privacy_officer_open_items(request), **requests_on_clock(request)}
