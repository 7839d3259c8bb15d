"""gunicorn's own error log without request text (issue 16, item 2; gunicorn.conf.py).

The access log prints the route name instead of the path (clinic/request_log.py). gunicorn also
writes two lines of its own that quote the request: "Invalid request from ip=...: <the request
line>" for a malformed request that never reaches Django, and "Error handling request <method>
<uri>" with a traceback for an error that escapes the application. Both are rewritten here to
say what happened without the request line, the URI or the exception's message.
"""

from __future__ import annotations

import sys
from typing import Any

from gunicorn.glogging import Logger


class PathFreeLogger(Logger):
    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if str(msg).startswith("Invalid request from"):
            self.error_log.warning("Invalid request refused (request line not logged)")
            return
        super().warning(msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if str(msg).startswith("Error handling request"):
            kind = sys.exc_info()[0]
            name = kind.__name__ if kind is not None else "Exception"
            self.error_log.error("Error handling request (%s; URI and message not logged)", name)
            return
        super().exception(msg, *args, **kwargs)
