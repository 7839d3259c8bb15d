"""ICD-10-CM codes from the offline `simple-icd-10-cm` code set: validation, descriptions,
chapters. Only billable (leaf) codes may be recorded as a diagnosis."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError


class _LazyCodeSet:
    """simple-icd-10-cm parses its XML at import (about 6 s here): load it on first use, not in
    every process that merely imports the models (workers, management commands)."""

    def __getattr__(self, name: str) -> object:
        import simple_icd_10_cm

        return getattr(simple_icd_10_cm, name)


icd: Any = _LazyCodeSet()


def normalise_code(code: str) -> str:
    return code.strip().upper().replace(".", "")


def dotted(code: str) -> str:
    code = normalise_code(code)
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def is_valid_diagnosis(code: str) -> bool:
    code = normalise_code(code)
    return bool(code) and icd.is_valid_item(code) and icd.is_leaf(code)


def validate_icd10_code(code: str) -> None:
    if not is_valid_diagnosis(code):
        raise ValidationError(
            "Enter a billable ICD-10-CM code, e.g. E11.9 or J06.9.", code="invalid_icd10"
        )


@lru_cache(maxsize=4096)
def description(code: str) -> str:
    code = normalise_code(code)
    return icd.get_description(code) if icd.is_valid_item(code) else ""


@lru_cache(maxsize=4096)
def chapter(code: str) -> str:
    """The chapter number (e.g. '4') of a code, '' when unknown."""
    code = normalise_code(code)
    if not icd.is_valid_item(code):
        return ""
    ancestors = icd.get_ancestors(code)
    return next((a for a in ancestors if icd.is_chapter(a)), "")


def chapter_title(chapter_number: str) -> str:
    return icd.get_description(chapter_number) if chapter_number else ""


def search(term: str, limit: int = 20) -> list[tuple[str, str]]:
    """Codes whose code or description contains the term (for the lookup on the visit form)."""
    term = term.strip().lower()
    if len(term) < 2:
        return []
    wanted = normalise_code(term)
    found: list[tuple[str, str]] = []
    for code in _leaf_codes():
        if code.startswith(wanted) or term in _descriptions()[code]:
            found.append((dotted(code), description(code)))
            if len(found) >= limit:
                break
    return found


@lru_cache(maxsize=1)
def _leaf_codes() -> list[str]:
    return [c for c in icd.get_all_codes(with_dots=False) if icd.is_leaf(c)]


@lru_cache(maxsize=1)
def _descriptions() -> dict[str, str]:
    return {c: icd.get_description(c).lower() for c in _leaf_codes()}


def load_code_set() -> int:
    """Parse the code set now rather than on first use: gunicorn.conf.py calls this once in the
    master, so forked workers share it. Returns the number of billable codes."""
    return len(_descriptions())
