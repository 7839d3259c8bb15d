"""Demo staff (and, from the apps that add them, patients and visits). Idempotent.

Passwords come from DEMO_PASSWORD; the documented default is for a local machine only.
"""

from __future__ import annotations

import os
from base64 import b32encode

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import roles

DEFAULT_DEMO_PASSWORD = "demo-clinic-pass-2026"
DEMO_STAFF = [
    ("frontdesk", roles.FRONT_DESK, "Frank", "Desk"),
    ("clinician", roles.CLINICIAN, "Casey", "Clinician"),
    ("clinician2", roles.CLINICIAN, "Corey", "Clinician"),
    ("analyst", roles.ANALYST, "Ana", "Lyst"),
    ("privacy", roles.PRIVACY_OFFICER, "Priya", "Officer"),
    ("admin", roles.ADMINISTRATOR, "Adi", "Admin"),
]
OWNER = "owner"


# Django permissions of the Administrator group: users, groups, lockouts, MFA devices. No PHI app.
ADMIN_PERMISSION_APPS = ("auth", "axes", "otp_totp", "otp_static", "admin")
# And the clinic's schedule settings (scheduling/admin.py), not the appointments themselves.
ADMIN_PERMISSION_MODELS = (
    ("scheduling", "appointmenttype"),
    ("scheduling", "workinghours"),
    ("scheduling", "scheduleexception"),
)


def ensure_groups(using: str = OWNER) -> dict[str, Group]:
    groups = {
        name: Group.objects.using(using).get_or_create(name=name)[0] for name in roles.GROUP_ROLES
    }
    settings_models = Q()
    for app_label, model in ADMIN_PERMISSION_MODELS:
        settings_models |= Q(content_type__app_label=app_label, content_type__model=model)
    admin_perms = Permission.objects.using(using).filter(
        Q(content_type__app_label__in=ADMIN_PERMISSION_APPS) | settings_models
    )
    groups[roles.ADMINISTRATOR].permissions.set(admin_perms)
    return groups


def ensure_staff(
    username: str,
    group: Group,
    password: str,
    first: str = "",
    last: str = "",
    using: str = OWNER,
    *,
    known_hashes: dict[str, str] | None = None,
) -> User:
    """The staff account, active, in `group`, signing in with `password`.

    Argon2 costs most of a second a hash, a check as much: `known_hashes` (password -> a hash of
    it made or checked in this run) lets the demo's accounts share one hash, so a re-run makes
    one check instead of two hashes per account."""
    known = known_hashes if known_hashes is not None else {}
    user = User.objects.db_manager(using).filter(username=username).first()
    if user is None:
        user = User(username=username, first_name=first, last_name=last)
        user.password = known.setdefault(password, make_password(password))
    elif user.password != known.get(password):
        if user.check_password(password):
            known.setdefault(password, user.password)
        else:
            user.password = known.setdefault(password, make_password(password))
    user.is_active = True
    user.is_staff = group.name == roles.ADMINISTRATOR
    user.save(using=using)
    user.groups.set([group])
    return user


def ensure_demo_totp(user: User, using: str = OWNER) -> str:
    """A confirmed TOTP device for a demo user (kept if it exists); returns its base32 secret."""
    device = (
        TOTPDevice.objects.using(using).filter(user=user, confirmed=True).order_by("pk").first()
    )
    if device is None:
        device = TOTPDevice(user=user, name="Demo authenticator", confirmed=True)
        device.save(using=using)
    return b32encode(device.bin_key).decode()


class Command(BaseCommand):
    help = "Create the demo staff users (and demo patients where the apps provide them)."

    def add_arguments(self, parser):
        # About two years of a small practice: enough for the dashboards' shapes, ~20 s here.
        parser.add_argument("--patients", type=int, default=3000)
        parser.add_argument("--visits-per-patient", type=int, default=5, help="on average")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
        with transaction.atomic(using=OWNER):
            groups = ensure_groups()
            hashes: dict[str, str] = {}
            staff = {
                u: ensure_staff(u, groups[g], password, first, last, known_hashes=hashes)
                for u, g, first, last in DEMO_STAFF
            }
            secrets = {username: ensure_demo_totp(user) for username, user in staff.items()}
        from clinic.demo_hooks import run_demo_hooks

        run_demo_hooks(self, staff, options)
        self.stdout.write("Demo sign-ins (local only; TOTP key for an authenticator app):")
        for username, group, *_ in DEMO_STAFF:
            self.stdout.write(
                f"  {username:<11} {group:<16} password: {password}  TOTP: {secrets[username]}"
            )
