"""Bad input, generated: every form and every URL parameter of the clinic, per persona.

The URLs come from the URLconf (django.urls.get_resolver), the forms from the pages themselves
(every <form method="post"> a persona is shown, with its field names). Hypothesis then sends
Unicode, NUL bytes, very long strings, HTML/SQL metacharacters, wrong types, missing fields,
repeated keys and unknown fields. For every case:

* no 5xx;
* no input containing < or > comes back unescaped in the page;
* no redirect leaves the site (the `next` parameter);
* a form error (anything but a redirect) changes nothing in the clinical, patient, grant,
  disclosure, device or user tables (content hash per table, so a half-applied UPDATE counts).

The profile is derandomized, so CI runs the same cases every time; FUZZ_EXAMPLES raises the
number of examples per target and FUZZ_RANDOM=1 explores new ones (docs/security-testing.md).
The number of cases run is printed at the end of the module.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import StaffSession
from localdb import cluster
from tests.conftest import TEST_DATABASE, give_totp, sign_in_client
from tests.factories import (
    AccessRequestFactory,
    AppointmentFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
# Query strings of pages the persona cannot open (a redirect or a refusal) and path parameters
# exercise one code path each: fewer examples there.
SECONDARY_EXAMPLES = max(2, EXAMPLES // 3)
PATH_EXAMPLES = SECONDARY_EXAMPLES
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "") != "1"
CASES = {"count": 0}

# Paths that would end the fuzzing client's own session, and Django's admin (Django's own forms,
# covered by Django's test suite; the clinic's admin changes are tested in test_admin_site.py).
SKIPPED_PREFIXES = ("/admin/", "/static/")
ENDS_OWN_SESSION = ("/account/sign-out/", "/account/sessions/")

NASTY = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><svg onload=alert(1)>",
    "' OR '1'='1' --",
    "'; DROP TABLE patient_identities; --",
    "{{ 7*7 }}{% debug %}",
    "\x00",
    "a\x00b",
    "%00",
    "../../../../etc/passwd",
    "\u202egnp.exe",
    "\ufeff\u200b",
    "Ω≈ç√∫˜µ≤≥÷ 田中さん 👩‍⚕️",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "true",
    "[]",
    "{}",
    "2024-02-30",
    "0000-00-00",
    "99999-01-01",
    "00000000-0000-0000-0000-000000000000",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
VALUE = st.one_of(
    st.sampled_from(NASTY),
    TEXT,
    st.tuples(TEXT, st.sampled_from(NASTY), TEXT).map("".join),
    st.tuples(st.sampled_from(["A", "<b>", "9", "é"]), st.integers(200, 6000)).map(
        lambda pair: pair[0] * pair[1]
    ),
    st.integers(-(2**70), 2**70).map(str),
)


class FormParser(HTMLParser):
    """The post forms of a page: action and field names (with their pre-filled values)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            method = (attributes.get("method") or "get").lower()
            self._current = {"action": attributes.get("action") or "", "method": method}
            self._current["fields"] = {}
            self.forms.append(self._current)
        elif tag in {"input", "select", "textarea", "button"} and self._current is not None:
            name = attributes.get("name")
            if name:
                self._current["fields"].setdefault(name, attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


@dataclass
class Target:
    persona: str
    path: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    users: dict
    params: dict[str, str]


def url_patterns(resolver=None, prefix: str = "") -> list[tuple[str, URLPattern]]:
    """Every (route, pattern) of the URLconf, routes joined from the includes."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(url_patterns(entry, route))
        else:
            found.append((route, entry))
    return found


def fill_route(route: str, params: dict[str, str]) -> str | None:
    """The route with its converters filled from the fixture's objects (None: not ours)."""
    path = "/" + route.lstrip("^").rstrip("$")
    if "(?P<" in path or "\\" in path:
        return None  # regex routes (the admin's)
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        converter, _, name = path[start + 1 : end].rpartition(":")
        if name not in params:
            return None
        path = path[:start] + params[name] + path[end + 1 :]
    return path


def fuzzed_param(converter_value: str) -> st.SearchStrategy[str]:
    if converter_value.isdigit():
        return st.one_of(
            st.integers(0, 2**80).map(str), st.sampled_from(["0", "9" * 30, "2147483648"])
        )
    return st.one_of(st.uuids().map(str), st.just(str(uuid.UUID(int=0))))


@pytest.fixture
def world(staff) -> World:
    patient = PatientFactory(ssn="900-00-0042", phone="555-0142")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    visit = ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    other = PatientFactory(first_name="Sam", ssn="900-00-0043", phone="555-0143")
    grant = BreakGlassGrantFactory(staff=staff["clinician2"], patient=other)
    appointment = AppointmentFactory(clinician=staff["clinician"], patient=patient)
    access_request = AccessRequestFactory(patient=patient)
    partial = staff["privacy"]
    give_totp(partial)
    return World(
        users=staff,
        params={
            "patient_id": str(patient.pk),
            "record_id": str(visit.pk),
            "grant_id": str(grant.pk),
            "appointment_id": str(appointment.pk),
            "request_id": str(access_request.pk),
        },
    )


def signed_in(world: World, persona: str) -> Client:
    client = Client()
    if persona == "anonymous":
        return client
    if persona == "partial":  # password done, code step pending
        return sign_in_client(client, world.users["privacy"], verified=False)
    return sign_in_client(client, world.users[persona])


class Persona:
    """One signed-in client per persona, signed in again only after a case ended its session."""

    def __init__(self, world: World, name: str):
        self.world, self.name = world, name
        self.client: Client | None = None

    def get_client(self) -> Client:
        if self.client is None:
            self.client = signed_in(self.world, self.name)
        return self.client

    def after(self, response) -> None:
        ended = response.status_code == 429 or response.get("Location", "").startswith(
            "/account/sign-in/"
        )
        if ended and self.name != "anonymous":
            self.client = None


def session_params(world: World, persona: str) -> dict[str, str]:
    params = dict(world.params)
    session = StaffSession.objects.using("owner").order_by("-pk").first()
    if session is not None and persona != "anonymous":
        params["pk"] = str(session.pk)
    return params


def discover(world: World, persona: str) -> tuple[dict[str, int], list[Target]]:
    """GET every URL as `persona`; collect the pages (with their status) and their post forms."""
    client = signed_in(world, persona)
    params = session_params(world, persona)
    pages: dict[str, int] = {}
    targets, seen = [], set()
    for route, _pattern in url_patterns():
        path = fill_route(route, params)
        if path is None or path.startswith(SKIPPED_PREFIXES):
            continue
        response = client.get(path)
        assert response.status_code < 500, (persona, path, response.status_code)
        pages[path] = response.status_code
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = FormParser()
        parser.feed(response.content.decode())
        for form in parser.forms:
            action = urlsplit(form["action"]).path or path
            if form["method"] != "post" or action.startswith(ENDS_OWN_SESSION):
                continue
            key = (action, tuple(sorted(form["fields"])))
            if key not in seen:
                seen.add(key)
                targets.append(Target(persona, action, "post", form["fields"]))
    return pages, targets


# --- what must hold for every case --------------------------------------------------------------
HASHED_TABLES = [
    "patient_identities",
    "clinical_records",
    "visit_addenda",
    "care_team",
    "break_glass_grants",
    "disclosures",
    "appointments",
    "auth_user_groups",
    "otp_static_statictoken",
]
COUNTED_TABLES = ["auth_user", "otp_totp_totpdevice", "otp_static_staticdevice"]


def table_state(conn) -> tuple:
    hashes = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t)"
        for table in HASHED_TABLES
    )
    counts = ", ".join(f"(SELECT count(*) FROM {table})" for table in COUNTED_TABLES)
    counts += ", (SELECT count(*) FROM otp_totp_totpdevice WHERE confirmed)"
    return conn.execute(f"SELECT {hashes}, {counts}").fetchone()


def flatten(payload: dict) -> list[str]:
    values = []
    for key, value in payload.items():
        values.append(key)
        values.extend(value if isinstance(value, list) else [value])
    return [v for v in values if isinstance(v, str)]


def check_response(response, sent: list[str], where: str) -> None:
    CASES["count"] += 1
    assert response.status_code < 500, f"{where}: HTTP {response.status_code}"
    location = response.get("Location", "")
    if location:
        parts = urlsplit(location)
        assert not parts.netloc and not location.startswith("//"), f"{where}: redirect off-site"
    if "html" in response.get("Content-Type", "") and response.content:
        page = response.content.decode(errors="replace")
        for value in sent:
            if ("<" in value or ">" in value) and len(value) >= 6:
                assert value not in page, f"{where}: input reflected unescaped"


def field_values(name: str, prefilled: str):
    return st.one_of(
        st.just(None),  # missing
        st.just(prefilled),  # the page's own value: lets the other fields get checked
        VALUE,
        st.lists(VALUE, min_size=2, max_size=3),  # repeated key
    ).map(lambda value: (name, value))


def payloads(fields: dict[str, str]):
    parts = [field_values(name, value) for name, value in fields.items()]
    extra = st.dictionaries(st.sampled_from(["extra", "id", "pk", "is_staff", "version"]), VALUE)
    return st.tuples(st.tuples(*parts), extra).map(
        lambda drawn: {
            **{name: value for name, value in drawn[0] if value is not None},
            **drawn[1],
        }
    )


def run(test, examples: int = EXAMPLES) -> None:
    hypothesis_settings(
        max_examples=examples,
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )(test)()


def fuzz_form(persona: Persona, target: Target, conn) -> None:
    @given(payload=payloads(target.fields), as_json=st.booleans())
    def case(payload, as_json):
        client = persona.get_client()
        before = table_state(conn)
        if as_json and len(payload) % 3 == 0:  # a body Django's form parser does not read
            response = client.post(target.path, data=payload, content_type="application/json")
        else:
            response = client.post(target.path, payload)
        persona.after(response)
        where = f"{target.persona} POST {target.path}"
        check_response(response, flatten(payload), where)
        if is_form_error(response):
            assert table_state(conn) == before, f"{where}: form error but data changed"

    run(case)


def is_form_error(response) -> bool:
    """Refused or invalid input: a 4xx, or a page that shows a form's error list. (Some pages
    answer a valid POST with 200: search results, a reveal, new recovery codes.)"""
    if 400 <= response.status_code < 500:
        return True
    return response.status_code == 200 and b"errorlist" in response.content


def fuzz_query(persona: Persona, path: str, names: list[str], examples: int) -> None:
    keys = st.sampled_from([*names, "next", "q", "page", "patient", "staff", "from", "to", "x"])
    query = st.dictionaries(keys, st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3)))

    @given(query=query)
    def case(query):
        response = persona.get_client().get(path, query)
        persona.after(response)
        check_response(response, flatten(query), f"{persona.name} GET {path}")

    run(case, examples)


def fuzz_path_params(persona: Persona) -> None:
    params = session_params(persona.world, persona.name)
    routes = [(r, p) for r, p in url_patterns() if "<" in r and fill_route(r, params)]

    for route, _pattern in routes:
        fuzz_route(persona, route, params)


def fuzz_route(persona: Persona, route: str, params: dict[str, str]) -> None:
    names = [part.split(">")[0].rpartition(":")[2] for part in route.split("<")[1:]]
    strategies = {name: fuzzed_param(params[name]) for name in names}

    @given(values=st.fixed_dictionaries(strategies), method=st.sampled_from(["get", "post"]))
    def case(values, method):
        path = fill_route(route, values)
        response = getattr(persona.get_client(), method)(path)
        persona.after(response)
        check_response(response, [], f"{persona.name} {method.upper()} {route}")

    run(case, PATH_EXAMPLES)


PERSONAS = [
    "anonymous",
    "partial",
    "frontdesk",
    "clinician",
    "clinician2",
    "analyst",
    "privacy",
    "admin",
    "outsider",
]


@pytest.fixture(scope="module", autouse=True)
def report_cases(pytestconfig):
    yield
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\ntest_fuzz_forms: {CASES['count']} generated requests, none 5xx")


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_input_causes_an_error_a_reflection_or_a_half_save(world, persona):
    pages, targets = discover(world, persona)
    assert pages
    fuzzing = Persona(world, persona)
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.autocommit = True
        for target in targets:
            fuzz_form(fuzzing, target, conn)
    for path, status in pages.items():
        names = [n for t in targets if t.path == path for n in t.fields]
        fuzz_query(fuzzing, path, names, EXAMPLES if status == 200 else SECONDARY_EXAMPLES)
    fuzz_path_params(fuzzing)


def test_login_form_is_fuzzed_too(world):
    """The sign-in form is reached by the anonymous persona above; this pins that it is found."""
    _pages, targets = discover(world, "anonymous")
    assert any(t.path == "/account/sign-in/" for t in targets)


@pytest.mark.parametrize(
    "next_value", ["home", '"><img src=x onerror=alert(1)>', "//evil.example/"]
)
def test_a_next_parameter_that_is_not_a_path_on_this_site_goes_home(world, next_value):
    """Found by the fuzzing above: a bare word in `next` was taken for a view name (500)."""
    client = signed_in(world, "privacy")
    response = client.get("/account/mfa/verify/", {"next": next_value})
    assert response.status_code == 302 and response["Location"] == "/"
