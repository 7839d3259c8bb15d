"""BENCHMARK-ONLY settings: the clinic's settings with the data-layer security switched off, for
the side-by-side page benchmark (benchmarks/load.py). The web alias logs in as the owner (no role
switch; row-level security reduced to the owner's USING (true) policy) and the per-request
transaction and role middleware are gone. Sessions, CSRF, CSP, axes and the MFA gate stay, so
the comparison isolates role switch + RLS + encryption + access log.
"""

from clinic.settings import *  # noqa: F403
from clinic.settings import DATABASES, MIDDLEWARE, WEB_PREPARE_THRESHOLD

ROOT_URLCONF = "benchmarks.baseline_urls"
# A new dict: importing this module (the in-process benchmark does) must not change the
# running settings.
# The pages read through the owner login here, with the web connections' kept plans
# (clinic/settings.py WEB_PREPARE_THRESHOLD), so the comparison is not of driver settings.
_OWNER = {
    **DATABASES["owner"],
    "OPTIONS": {**DATABASES["owner"]["OPTIONS"], "prepare_threshold": WEB_PREPARE_THRESHOLD},
}
DATABASES = {**DATABASES, "default": _OWNER, "owner": {**_OWNER}}
MIDDLEWARE = [name for name in MIDDLEWARE if name != "clinic.db_context.DatabaseRoleMiddleware"]
# The break-the-glass banner is a security feature too (and reads a table the web login may not).
TEMPLATES = [
    {
        **engine,
        "OPTIONS": {
            **engine["OPTIONS"],
            "context_processors": [
                name
                for name in engine["OPTIONS"]["context_processors"]
                if name != "records.context_processors.break_glass"
            ],
            # Restrictions and amendments read tables the owner login may not: none shown here.
            "libraries": {
                **engine["OPTIONS"].get("libraries", {}),
                "restrictions": "benchmarks.baseline_tags",
                "amendments": "benchmarks.baseline_tags",
            },
        },
    }
    for engine in TEMPLATES  # noqa: F405
]
