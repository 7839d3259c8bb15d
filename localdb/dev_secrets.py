"""The development secrets of a checkout (`.local/secrets.env`, mode 0600): the Django keys,
the field, blind-index, pseudonym and staff-token keys, the cluster's passwords. Generated once;
later runs reuse them, since the keys must not change under data encrypted with them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# CLINIC_LOCAL_DIR runs a second, separate cluster from the same checkout (a restore target).
LOCAL_DIR = Path(os.environ.get("CLINIC_LOCAL_DIR", "") or BASE_DIR / ".local")
SECRETS_FILE = LOCAL_DIR / "secrets.env"


def read_secrets() -> dict[str, str]:
    values: dict[str, str] = {}
    if SECRETS_FILE.exists():
        for line in SECRETS_FILE.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def ensure_secrets() -> dict[str, str]:
    """Generate the development secrets once; later runs reuse them (keys must not change)."""
    import base64

    LOCAL_DIR.mkdir(exist_ok=True)
    values = read_secrets()
    wanted = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": lambda: (
            "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        ),
        "BLIND_INDEX_KEY": lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PSEUDONYM_KEY": lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "STAFF_TOKEN_KEY": lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PG_SUPERUSER_PASSWORD": lambda: secrets.token_urlsafe(24),
        # Names the cluster these secrets belong to (see discard_foreign_cluster).
        "CLUSTER_ID": lambda: secrets.token_hex(8),
        "DB_OWNER_PASSWORD": lambda: secrets.token_urlsafe(24),
        "DB_WEB_PASSWORD": lambda: secrets.token_urlsafe(24),
        "DB_REPLICATION_PASSWORD": lambda: secrets.token_urlsafe(24),
    }
    changed = False
    for key, make in wanted.items():
        if not values.get(key):
            values[key] = make()
            changed = True
    if changed:
        body = "# Development secrets, generated once by localdb/dev_secrets.py. Never commit.\n"
        body += "".join(f"{k}={v}\n" for k, v in values.items())
        SECRETS_FILE.touch(mode=0o600)
        SECRETS_FILE.write_text(body)
        os.chmod(SECRETS_FILE, 0o600)
    return values
