"""gunicorn settings for the benchmark servers (benchmarks/load.py): load the application once in
the master and parse the ICD-10-CM code set there, so the forked workers share it.

Without this, each worker parses the code set on its first visit-list request (records/icd10.py
loads it lazily, about 6 s of CPU on an idle machine); on a busy 2-core machine that took past
gunicorn's 30 s timeout, the worker was killed and the next one started over, so the visit-list
figures measured the restarts, not the page.
"""

preload_app = True


def when_ready(server) -> None:
    from records import icd10

    icd10.description("J06.9")
