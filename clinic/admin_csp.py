"""The Django admin under the site's strict Content-Security-Policy.

Django 5.2's admin loads its scripts and styles from files, with one exception: a change list
whose model admin turns both action bars off carries a small inline <style> block. Its hash (read
from Django's own template, so an upgrade that changes it changes the hash with it) is allowed
on /admin/ responses only; no other page gets it, and no page gets 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import django.contrib.admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

_TEMPLATES = Path(django.contrib.admin.__file__).parent / "templates" / "admin"


def inline_style_hashes(template: str = "change_list.html") -> list[str]:
    """CSP sources for the <style> blocks of one of Django's admin templates."""
    text = (_TEMPLATES / template).read_text(encoding="utf-8")
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
        for block in re.findall(r"<style>(.*?)</style>", text, re.DOTALL)
    ]


ADMIN_STYLE_SOURCES = inline_style_hashes()


class AdminContentSecurityPolicyMiddleware:
    """Adds the admin's style hashes to style-src on admin responses (placed after
    csp.middleware.CSPMiddleware, so the policy is built with them)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.prefix = reverse("admin:index")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(self.prefix) and ADMIN_STYLE_SOURCES:
            response._csp_update = {"style-src": ADMIN_STYLE_SOURCES}  # type: ignore[attr-defined]
        return response
