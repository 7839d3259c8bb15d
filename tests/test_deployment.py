"""Production settings for running behind a TLS proxy on several app servers
(docs/deployment.md): the proxy's scheme header, trusted proxy hops, sessions in the database,
and the replica alias over verified TLS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from clinic.client_ip import client_ip
from tests.test_settings import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parent.parent
NAMES = [
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "TRUSTED_PROXY_COUNT",
    "SESSION_ENGINE",
    "ANALYTICS_DATABASE",
]


def production_settings(**extra: str) -> dict:
    code = (
        "import django,json;django.setup();from django.conf import settings as s;"
        f"names={NAMES!r};out={{n: getattr(s, n, None) for n in names}};"
        "out['replica_options']=s.DATABASES.get('replica',{}).get('OPTIONS');"
        "print(json.dumps(out))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            **PRODUCTION_ENV,
            **extra,
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_behind_a_tls_proxy_the_forwarded_scheme_counts_and_sessions_stay_in_the_database():
    plain = production_settings()
    assert plain["SECURE_PROXY_SSL_HEADER"] is None
    proxied = production_settings(
        BEHIND_TLS_PROXY="1",
        TRUSTED_PROXY_COUNT="1",
        DATABASE_REPLICA_URL="postgres://clinic_web:pw@replica.example.org:5432/clinic",
    )
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert proxied["SECURE_SSL_REDIRECT"] is True
    assert proxied["TRUSTED_PROXY_COUNT"] == 1
    assert proxied["SESSION_ENGINE"] == "accounts.session_store"  # database sessions, by digest
    assert proxied["ANALYTICS_DATABASE"] == "replica"
    assert proxied["replica_options"]["sslmode"] == "verify-full"
    assert proxied["replica_options"]["server_side_binding"] is True


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no trusted proxy: the header is the client's to forge
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the address our proxy saw
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
    ],
)
def test_client_address_comes_from_trusted_proxy_hops(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
