"""Data migration: the eight standard roles and their default scopes (ARCHITECTURE §1)."""

from django.db import migrations

DEFAULTS = {
    "admin": ("Administrator", {"customer": ("all", ["view", "add", "change", "delete", "merge", "import", "export", "override_duplicate"])}),
    "director": ("Director", {"customer": ("all", ["view", "export"])}),
    "branch_manager": ("Branch manager", {"customer": ("branch", ["view", "add", "change", "delete", "merge", "import", "export"])}),
    "supervisor": ("Sales supervisor", {"customer": ("team", ["view", "add", "change", "delete", "merge", "import", "export"])}),
    "consultant": ("Consultant", {"customer": ("own", ["view", "add", "change"])}),
    "care_head": ("Head of customer care", {"customer": ("all", ["view"])}),
    "care_agent": ("Care agent", {"customer": ("own", ["view", "change"])}),
    "academic": ("Academic staff", {"customer": ("branch", ["view"])}),
}


def forwards(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    RoleScope = apps.get_model("accounts", "RoleScope")
    for code, (name, scopes) in DEFAULTS.items():
        role, _ = Role.objects.get_or_create(code=code, defaults={"name": name})
        for object_type, (scope, actions) in scopes.items():
            RoleScope.objects.get_or_create(role=role, object_type=object_type, defaults={"scope": scope, "actions": actions})


def backwards(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    Role.objects.filter(code__in=list(DEFAULTS), users__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
