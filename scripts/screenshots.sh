#!/bin/sh
# Refresh docs/screenshots/*.png (shown in the README) from the Chromium tests.
set -e
cd "$(dirname "$0")/.."
UPDATE_SCREENSHOTS=1 DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/pytest -q -m browser \
  tests/test_browser_mfa.py tests/test_browser_session_warning.py tests/test_browser_scheduling.py \
  tests/test_browser_signed_notes.py \
  tests/test_browser_privacy_lookup.py \
  tests/test_browser_chart.py \
  tests/test_browser_home.py \
  tests/test_browser_flow_board.py \
  tests/test_browser_visit_note.py \
  tests/test_browser_note_draft.py \
  tests/test_browser_rights.py \
  tests/test_browser_amendment_items.py \
  tests/test_browser_calendar_booking.py
