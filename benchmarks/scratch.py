"""A scratch database on the embedded cluster for benchmarks: created, migrated, provisioned,
dropped afterwards. The development `clinic` database is never touched."""

from __future__ import annotations

import io


def use_database(name: str) -> None:
    """Point both Django aliases (web and owner) at `name`."""
    from django.conf import settings
    from django.db import connections

    for alias in ("default", "owner"):
        connections[alias].close()
        settings.DATABASES[alias]["NAME"] = name
        connections[alias].settings_dict["NAME"] = name


def create(name: str) -> None:
    from django.core.management import call_command

    from localdb import cluster

    if name == cluster.DATABASE_NAME:
        raise SystemExit("Benchmarks never write to the development database.")
    cluster.drop_database(name)
    with cluster.superuser_connect() as conn:
        cluster.create_database(conn, name)
    use_database(name)
    call_command("migrate", database="owner", verbosity=0)
    call_command("provision_db", verbosity=0, stdout=io.StringIO())


def drop(name: str) -> None:
    from django.db import connections

    from localdb import cluster

    for alias in ("default", "owner"):
        connections[alias].close()
    cluster.drop_database(name)
