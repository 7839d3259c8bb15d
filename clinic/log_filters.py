"""A last line of defence: redact anything shaped like an identifier from log records.

The code logs no PHI on purpose; this catches accidents (an exception message quoting a value,
a library logging a request). Request objects attached to records are dropped, so their bodies
and query strings never reach a handler.
"""

from __future__ import annotations

import logging
import re

PATTERNS = [
    (re.compile(r"\b\d{3}-?\d{2}-?\d{4}\b"), "[redacted-ssn]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[redacted-email]"),
    (re.compile(r"(?:\+?1[\s.-]?)?\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b"), "[redacted-phone]"),
]


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactPHIFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = ()
        if hasattr(record, "request"):
            record.request = None
        if record.exc_info and record.exc_info[1] is not None:
            # Keep the exception type and traceback shape, not the message (it may quote a value).
            exc_type = record.exc_info[0]
            record.exc_text = f"{exc_type.__name__ if exc_type else 'Exception'} (message redacted)"
            record.exc_info = None
        return True
