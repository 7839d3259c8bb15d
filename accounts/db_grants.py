"""Row-level security on sign-in tables: a signed-in user changes only their own password and
second-factor devices, even through raw SQL on the web connection.

Sign-in itself runs before anyone is known (no verified staff identity), so the web role keeps
what it needs then: reading users and the session's device, and updating `last_login` (its
column grant is the only UPDATE it holds on auth_user). Administrators manage everyone's rows.
These tables are not FORCEd: the owner (migrations, provisioning) stays outside the policies.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.provisioning import ensure_policies, ensure_row_level_security, register_step
from clinic.role_gate import gate_policies, gates_itself
from clinic.staff_identity import STAFF_ID

ADMIN_ALL = "AS PERMISSIVE FOR ALL TO clinic_admin USING (true) WITH CHECK (true)"

AUTH_POLICIES: dict[str, dict[str, str]] = {
    "auth_user": {
        "everyone_reads": "AS PERMISSIVE FOR SELECT TO PUBLIC USING (true)",
        "sign_in_stamps_last_login": "AS PERMISSIVE FOR UPDATE TO clinic_web "
        "USING (true) WITH CHECK (true)",
        "own_row": f"AS PERMISSIVE FOR UPDATE TO clinic_signed_in USING (id = {STAFF_ID}) "
        f"WITH CHECK (id = {STAFF_ID})",
        "admin_manages": ADMIN_ALL,
    },
    "otp_totp_totpdevice": {
        "sign_in_reads": "AS PERMISSIVE FOR SELECT TO clinic_web USING (true)",
        "own_devices": f"AS PERMISSIVE FOR ALL TO clinic_signed_in USING (user_id = {STAFF_ID}) "
        f"WITH CHECK (user_id = {STAFF_ID})",
        "admin_manages": ADMIN_ALL,
    },
    "otp_static_staticdevice": {
        "sign_in_reads": "AS PERMISSIVE FOR SELECT TO clinic_web USING (true)",
        "own_devices": f"AS PERMISSIVE FOR ALL TO clinic_signed_in USING (user_id = {STAFF_ID}) "
        f"WITH CHECK (user_id = {STAFF_ID})",
        "admin_manages": ADMIN_ALL,
    },
    "otp_static_statictoken": {
        "own_tokens": "AS PERMISSIVE FOR ALL TO clinic_signed_in USING (device_id IN "
        f"(SELECT id FROM otp_static_staticdevice WHERE user_id = {STAFF_ID})) "
        "WITH CHECK (device_id IN "
        f"(SELECT id FROM otp_static_staticdevice WHERE user_id = {STAFF_ID}))",
        "admin_manages": ADMIN_ALL,
    },
}


gates_itself(*AUTH_POLICIES)


@register_step(order=5)
def sign_in_tables_security(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for table, policies in AUTH_POLICIES.items():
        done += ensure_row_level_security(connection, table, force=False)
        done += ensure_policies(connection, table, {**policies, **gate_policies(table)})
    return done
