"""Where a page's time goes under load (issue #23): py-spy samples the running gunicorn workers
while the load generator drives one page, and each sample is put in one cell of a table:

- the row is the part of the request path that owns it: the middleware whose code is running
  (the innermost middleware frame), the user's load (AuthenticationMiddleware's lazy user, read
  when DatabaseRoleMiddleware first asks for it), the session store, the view, or gunicorn and
  Django's handler around them;
- the column is what the sample is doing there: the database driver (psycopg, Django's backend:
  sending a statement and reading its rows), the ORM (building queries, making model objects),
  decryption (clinic/encryption.py and `cryptography`), template rendering, logging, or other
  Python.

py-spy leaves out threads waiting on a socket, so the figures are the workers' CPU time, not
the time spent waiting for PostgreSQL. Sampling is non-blocking (the workers are not paused),
at PROFILE_RATE samples per second per thread.

py-spy needs ptrace on the workers (root, or CAP_SYS_PTRACE); without it `available()` says so
and the run goes on without a profile.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

PROFILE_RATE = 250
COLUMNS = ("driver", "ORM", "decryption", "templates", "logging", "other")
# Rows by the file (suffix) of a frame; the innermost such frame of a sample owns it.
OWNERS = [
    ("accounts/backends.py", "user load (auth)"),
    ("django/contrib/auth/__init__.py", "user load (auth)"),
    ("accounts/session_store.py", "sessions (store)"),
    ("django/contrib/sessions/middleware.py", "sessions (middleware)"),
    ("clinic/request_log.py", "route logger"),
    ("django/middleware/security.py", "security headers"),
    ("clinic/middleware.py", "permissions policy"),
    ("csp/middleware.py", "CSP"),
    ("clinic/admin_csp.py", "admin CSP"),
    ("whitenoise/middleware.py", "whitenoise"),
    ("django/middleware/csrf.py", "CSRF"),
    ("django/contrib/auth/middleware.py", "user load (auth)"),
    ("clinic/db_context.py", "role switch + transaction"),
    ("clinic/access_log/__init__.py", "access log"),
    ("django_otp/middleware.py", "django-otp"),
    ("accounts/lifetime.py", "session lifetime"),
    ("django_session_timeout/middleware.py", "session lifetime"),
    ("django/contrib/messages/middleware.py", "messages"),
    ("django/middleware/clickjacking.py", "X-Frame-Options"),
    ("axes/middleware.py", "django-axes"),
    ("accounts/sessions.py", "staff-session touch"),
]
# Functions of a middleware module that are the middleware itself (helpers of the same module
# called from a view, e.g. accounts/mfa.py's, are the view's).
MIDDLEWARE_FUNCTIONS = {"__call__", "process_request", "process_response", "process_view"}
MIDDLEWARE_FILES = [
    ("accounts/mfa.py", "MFA gate"),
]


def available() -> str:
    """'' when py-spy can run here, else why not."""
    if not shutil.which("py-spy", path=str(Path(sys.executable).parent)):
        return "py-spy is not installed (pip install -e '.[dev]')"
    return ""


@contextmanager
def record(master_pid: int):
    """Sample gunicorn's workers (children of `master_pid`) until the block ends; yields a dict
    that then holds the collapsed stacks ({stack: samples})."""
    handle, path = tempfile.mkstemp(prefix="clinic-profile-", suffix=".txt")
    os.close(handle)
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(master_pid),
               "--subprocesses", "--nonblocking", "--rate", str(PROFILE_RATE), "--format", "raw",
               "--output", path]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stacks: dict[str, int] = {}
    try:
        yield stacks
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        for line in Path(path).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[stack] = stacks.get(stack, 0) + int(count)
        Path(path).unlink(missing_ok=True)


def _frames(stack: str) -> list[tuple[str, str]]:
    """[(function, file)] outermost first, from py-spy's 'Class.function (file:line)' frames
    (files relative to sys.path: made to start with "/" so a directory name matches whole)."""
    frames = []
    for frame in stack.split(";"):
        function, _, rest = frame.partition(" (")
        filename = rest.rsplit(":", 1)[0]
        frames.append((function.strip().rsplit(".", 1)[-1], "/" + filename.lstrip("/")))
    return frames


def _column(frames: list[tuple[str, str]]) -> str:
    for _function, filename in reversed(frames):
        if filename.endswith("clinic/encryption.py") or "/cryptography/" in filename:
            return "decryption"
        if "/psycopg/" in filename or "/django/db/backends/" in filename:
            return "driver"
        if "/django/template/" in filename or "/django/templatetags/" in filename:
            return "templates"
        if "/logging/" in filename:
            return "logging"
        if "/django/db/models/" in filename:
            return "ORM"
    return "other"


def _row(frames: list[tuple[str, str]]) -> str:
    for function, filename in reversed(frames):
        if filename.endswith("django/core/handlers/base.py") and function == "_get_response":
            return "view"
        for suffix, name in OWNERS:
            if filename.endswith(suffix):
                return name
        if function in MIDDLEWARE_FUNCTIONS:
            for suffix, name in MIDDLEWARE_FILES:
                if filename.endswith(suffix):
                    return name
    return "gunicorn + Django's handler"


def breakdown(stacks: dict[str, int]) -> dict[str, Counter]:
    """{row: Counter(column: samples)} for the samples of the workers' request threads."""
    table: dict[str, Counter] = {}
    for stack, count in stacks.items():
        frames = _frames(stack)
        if not any(f.endswith("django/core/handlers/wsgi.py") for _, f in frames):
            continue  # gunicorn's own loop, not a request
        table.setdefault(_row(frames), Counter())[_column(frames)] += count
    return table


def report(table: dict[str, Counter], requests: int) -> list[str]:
    """Lines of the table in CPU milliseconds per request (samples / rate / requests)."""
    per_request = 1000 / PROFILE_RATE / max(1, requests)
    total = sum(sum(c.values()) for c in table.values()) * per_request
    lines = [f"    {'part of the request path':<28}" + "".join(f"{c:>11}" for c in COLUMNS)
             + f"{'total':>9}{'share':>7}"]  # fmt: skip
    rows = sorted(table.items(), key=lambda item: -sum(item[1].values()))
    for row, counts in rows:
        ms = [counts[c] * per_request for c in COLUMNS]
        lines.append(f"    {row:<28}" + "".join(f"{v:11.2f}" for v in ms)
                     + f"{sum(ms):9.2f}{100 * sum(ms) / total if total else 0:6.0f}%")  # fmt: skip
    columns = [sum(c[col] for c in table.values()) * per_request for col in COLUMNS]
    lines.append(f"    {'all (CPU ms per request)':<28}" + "".join(f"{v:11.2f}" for v in columns)
                 + f"{total:9.2f}")  # fmt: skip
    return lines
