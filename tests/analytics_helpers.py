"""Helpers of the analytics tests (their patients and visits come from tests.factories)."""

from __future__ import annotations

from analytics.refresh import refresh_all


def refresh() -> None:
    refresh_all(using="owner")
