"""Demo data for this app, run by `manage.py seed_demo` (clinic/demo_hooks.py)."""
