#!/bin/sh
# Refresh docs/screenshots/*.png (shown in the README) from the Chromium tests.
set -e
cd "$(dirname "$0")/.."
UPDATE_SCREENSHOTS=1 DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/pytest -q -m browser \
  tests/test_browser_mfa.py tests/test_browser_session_warning.py tests/test_browser_scheduling.py \
  tests/test_browser_rights.py
