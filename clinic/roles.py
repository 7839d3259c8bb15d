"""The one declarative table of who may do what, in Django and in PostgreSQL.

Each Django group maps to one NOLOGIN PostgreSQL role. `provision_db` turns this table into
roles, memberships and grants; the request middleware switches to the role of the signed-in
user's group. Tables not named here get no grant at all (deny by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FRONT_DESK = "Front desk"
CLINICIAN = "Clinician"
ANALYST = "Analyst"
PRIVACY_OFFICER = "Privacy officer"
ADMINISTRATOR = "Administrator"

GROUP_ROLES: dict[str, str] = {
    FRONT_DESK: "clinic_front_desk",
    CLINICIAN: "clinic_clinician",
    ANALYST: "clinic_analyst",
    PRIVACY_OFFICER: "clinic_privacy_officer",
    ADMINISTRATOR: "clinic_admin",
}

OWNER_ROLE = "clinic_owner"
WEB_ROLE = "clinic_web"
# Every group role inherits this: what any signed-in page needs (sessions, its own user row).
SIGNED_IN_ROLE = "clinic_signed_in"
# Owns the analyst views, so they do not run with the table owner's rights (which bypass RLS).
ANALYTICS_VIEW_OWNER = "clinic_analytics_owner"
# Owns the access log, its append function and trigger, the staff identity they rely on and the
# `public` schema. NOLOGIN, and no login is a member of it (clinic/bootstrap.py).
AUDIT_OWNER = "clinic_audit_owner"


@dataclass(frozen=True)
class Grant:
    privileges: tuple[str, ...]
    table: str
    columns: tuple[str, ...] = field(default=())


def grant(privileges: str, table: str, *columns: str) -> Grant:
    return Grant(tuple(p.strip().upper() for p in privileges.split(",")), table, columns)


ALL_DML = "SELECT, INSERT, UPDATE, DELETE"

# What sign-in needs before anyone is signed in: the web role holds these itself.
SIGN_IN_GRANTS: list[Grant] = [
    grant("SELECT", "auth_user"),
    grant("UPDATE", "auth_user", "last_login"),
    grant("SELECT", "auth_group"),
    grant("SELECT", "auth_user_groups"),
    grant("SELECT", "auth_permission"),
    grant("SELECT", "auth_group_permissions"),
    grant("SELECT", "auth_user_user_permissions"),
    grant("SELECT", "django_content_type"),
    # django_session: no grant at all; only the functions of accounts/session_store.py.
    # Failed attempts: counted and read here; a live count is lowered only under the application's
    # signed clearance (accounts/lockout_guard.py).
    grant(ALL_DML, "axes_accessattempt"),
    # Sign-in history: a row at sign-in, its logout time at sign-out; never rewritten or erased
    # by the web login. (axes' failure log is off, AXES_ENABLE_ACCESS_FAILURE_LOG: no right at
    # all; the expiration table is unused, AXES_USE_ATTEMPT_EXPIRATION, but deleting an attempt
    # cascades to it.)
    grant("SELECT, INSERT", "axes_accesslog"),
    grant("UPDATE", "axes_accesslog", "logout_time"),
    grant("SELECT, DELETE", "axes_accessattemptexpiration"),
    # django-otp's middleware loads the session's device, its own user's only (row-level
    # security by the verified staff id, accounts/db_grants.py).
    grant("SELECT", "otp_totp_totpdevice"),
    grant("SELECT", "otp_static_staticdevice"),
    # Sign-in and sign-out write the session's row ("My sessions", accounts/models.py), under
    # a token naming the session's user (accounts/sessions.py): its own rows only.
    grant(ALL_DML, "clinic_staffsession"),
    # The development server (`make run`) checks for unapplied migrations on this connection at
    # start-up and stops if it cannot read the list. Migration names only: no PHI.
    grant("SELECT", "django_migrations"),
]

# Rights of a signed-in user (every group role inherits them) beyond what sign-in needs; row-level
# security (accounts/db_grants.py) limits them to the user's own rows.
SIGNED_IN_GRANTS: list[Grant] = [
    # Verifying a code saves the whole device row (django-otp), enrolment creates and confirms
    # devices, a recovery code is deleted on use.
    grant(ALL_DML, "otp_totp_totpdevice"),
    grant(ALL_DML, "otp_static_staticdevice"),
    grant(ALL_DML, "otp_static_statictoken"),
    # "My sessions" and the wrong-code counter (accounts/models.py), own rows only.
    grant(ALL_DML, "clinic_staffsession"),
    grant(ALL_DML, "clinic_mfafailures"),
    # Changing one's own password (saved with update_fields, so only this column).
    grant("UPDATE", "auth_user", "password"),
]

# Rights of each group role on top of the signed-in ones. PHI tables are added by the apps
# that own them (patients, records, analytics), each next to its models.
ROLE_GRANTS: dict[str, list[Grant]] = {
    "clinic_front_desk": [],
    "clinic_clinician": [],
    "clinic_analyst": [],
    "clinic_privacy_officer": [
        grant("UPDATE", "axes_accessattempt"),
        grant("SELECT", "access_log"),
        # Unlock deletes the attempt rows (also inherited from clinic_signed_in; stated here so
        # narrowing the sign-in grants cannot silently break unlocking).
        grant("SELECT, DELETE", "axes_accessattempt"),
        grant("SELECT, DELETE", "axes_accessattemptexpiration"),
        grant("SELECT, INSERT", "disclosures"),
        # 164.528(a)(2): recording a suspension changes only its own columns.
        grant(
            "UPDATE",
            "disclosures",
            "suspended_until",
            "suspension_kind",
            "suspension_stated_on",
            "suspension_statement",
            "suspension_recorded_by_id",
        ),
    ],
    "clinic_admin": [
        grant(ALL_DML, "auth_user"),
        grant(ALL_DML, "auth_user_groups"),
        grant(ALL_DML, "auth_user_user_permissions"),
        grant(ALL_DML, "auth_group"),
        grant(ALL_DML, "auth_group_permissions"),
        grant("SELECT, INSERT", "django_admin_log"),
        grant(ALL_DML, "otp_totp_totpdevice"),
        grant(ALL_DML, "otp_static_staticdevice"),
        grant(ALL_DML, "otp_static_statictoken"),
        grant(ALL_DML, "axes_accessattempt"),
        grant(ALL_DML, "axes_accessfailurelog"),
        grant(ALL_DML, "axes_accesslog"),
        grant(ALL_DML, "axes_accessattemptexpiration"),
    ],
}
