"""Production gunicorn settings (docs/deployment.md): `gunicorn -c gunicorn.conf.py clinic.wsgi`.

Every value can be changed from the environment, so one image serves any machine size:
WEB_CONCURRENCY (worker processes; default 2 x cores + 1), GUNICORN_THREADS (threads per
worker; default 4), GUNICORN_BIND (default 0.0.0.0:8000), FORWARDED_ALLOW_IPS (the TLS proxy's
address; gunicorn trusts X-Forwarded-* only from there).

The application is loaded once in the master (preload_app) and the ICD-10-CM code set parsed
there (about 6 s, some 200 MB), so workers fork with it already in memory instead of each one
stalling its first visit page.
"""

from __future__ import annotations

import gc
import os


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * _cores() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
preload_app = True
# Recycle workers now and then (memory growth), staggered so they never restart together.
max_requests = 5000
max_requests_jitter = 500
timeout = 60
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
# No path and no query string (%(r)s, %(U)s, %(q)s): a URL may hold typed text. The route name
# the application resolved (clinic/request_log.py puts it in the environ) stands in for it.
access_log_format = '%(h)s "%(m)s %({clinic.route}e)s %(H)s" %(s)s %(B)s %(M)sms'
# gunicorn's own lines that would quote a request line or URI are rewritten without them.
logger_class = "clinic.gunicorn_logging.PathFreeLogger"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def when_ready(server) -> None:
    """In the master, after the preloaded app and before the first fork."""
    from django.db import connections

    from records import icd10

    codes = icd10.load_code_set()
    # No database connection may be inherited by the workers.
    connections.close_all()
    # Keep the loaded objects out of the collector, so workers do not copy their pages.
    gc.freeze()
    server.log.info("ICD-10-CM code set loaded in the master (%d billable codes)", codes)
