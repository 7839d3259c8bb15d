"""Moving a model between apps without touching its table: the content types follow it.

Used by the state-only migrations that moved models out of `clinic` (accounts, privacy). The
rows of `django_content_type` are relabelled, so the permissions attached to them (and every
group or user holding those permissions) survive the move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def relabel_content_types(
    models: Iterable[str], old_app: str, new_app: str
) -> tuple[Callable[..., None], Callable[..., None]]:
    """RunPython forward and backward functions moving `models` from `old_app` to `new_app`."""
    names = [name.lower() for name in models]

    def move(apps: Any, schema_editor: Any, source: str, target: str) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        alias = schema_editor.connection.alias
        for name in names:
            old = content_type.objects.using(alias).filter(app_label=source, model=name).first()
            if old is None:
                continue  # a new database: post_migrate creates the row under the new label
            # A row under the new label can only be an empty one made by an earlier post_migrate;
            # the old row carries the permissions that were granted, so it wins.
            content_type.objects.using(alias).filter(app_label=target, model=name).delete()
            old.app_label = target
            old.save(using=alias, update_fields=["app_label"])

    def forwards(apps: Any, schema_editor: Any) -> None:
        move(apps, schema_editor, old_app, new_app)

    def backwards(apps: Any, schema_editor: Any) -> None:
        move(apps, schema_editor, new_app, old_app)

    return forwards, backwards
