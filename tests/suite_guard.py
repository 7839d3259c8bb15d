"""The suite cannot shrink or skip silently.

`pytest --suite-floor tests/SUITE_FLOOR` (what `make test` runs) fails the run when fewer tests
passed than the number recorded in that file, or when any test was skipped or marked xfail. More
tests than recorded is fine: the floor only stops tests from disappearing unnoticed (a module
that no longer collects, a parametrisation that became empty, a rename that hides a file from
collection).

Updating the number is deliberate: after adding tests, raise it to the new count printed at the
end of `make test` ("suite guard: N passed, floor M"); after removing tests on purpose, lower it
in the same commit and say why in the message.

A skip fails every run, with or without the floor: a skipped test proves nothing, and the
compliance table must not cite one.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--suite-floor",
        default=None,
        help="file holding the least number of tests a full run must pass",
    )


def _counts(session: pytest.Session) -> dict[str, int]:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter is not None else {}
    return {
        key: len([r for r in stats.get(key, []) if getattr(r, "when", "call") in ("call", "setup")])
        for key in ("passed", "skipped", "xfailed", "xpassed")
    }


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller counts every worker's reports
    counts = _counts(session)
    problems = []
    not_run = counts["skipped"] + counts["xfailed"] + counts["xpassed"]
    if not_run:
        problems.append(f"{not_run} test(s) skipped or marked xfail; no test may be skipped")
    floor_file = session.config.getoption("--suite-floor")
    if floor_file:
        floor = int(Path(floor_file).read_text(encoding="utf-8").split()[0])
        message = f"suite guard: {counts['passed']} passed, floor {floor} ({floor_file})"
        if counts["passed"] < floor:
            problems.append(f"{counts['passed']} tests passed, fewer than the floor {floor}")
        print("\n" + message)
    if problems:
        for problem in problems:
            print(f"\nsuite guard: FAILED: {problem}")
        if session.exitstatus == 0:
            session.exitstatus = 1
