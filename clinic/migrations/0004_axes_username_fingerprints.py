"""Replace the typed usernames axes stored before AXES_USERNAME_CALLABLE with their fingerprints
(accounts/lockout.py), and drop the copies of the POSTed forms, which held them too."""

from django.db import migrations


def fingerprint_usernames(apps, schema_editor):
    from accounts.lockout import PREFIX, username_key

    alias = schema_editor.connection.alias
    for name in ("AccessAttempt", "AccessFailureLog"):
        model = apps.get_model("axes", name)
        rows = model.objects.using(alias).exclude(username__isnull=True).exclude(username="")
        for row in rows.exclude(username__startswith=PREFIX).iterator():
            row.username = username_key(row.username)
            fields = ["username"]
            if name == "AccessAttempt":
                row.post_data, row.get_data = "", ""
                fields += ["post_data", "get_data"]
            row.save(using=alias, update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_mfafailures_staffsession"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(fingerprint_usernames, migrations.RunPython.noop)]
