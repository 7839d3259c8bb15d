"""Admin site: users and their one clinic group. PHI models are never registered here."""

from __future__ import annotations

from django.contrib import admin

admin.site.site_header = "Clinic administration"
admin.site.site_title = "Clinic administration"
admin.site.index_title = "Users, roles and sign-in security"
