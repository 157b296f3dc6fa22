"""Data migration: default scopes of the eight roles for inquiries (leads), activities and quotas."""

from django.db import migrations

INQUIRY_ALL = ["view", "add", "change", "delete", "assign", "configure", "export"]
ACTIVITY_ALL = ["view", "add", "change", "delete", "configure", "export"]
DEFAULTS = {
    "admin": {"inquiry": ("all", INQUIRY_ALL), "activity": ("all", ACTIVITY_ALL), "quota": ("all", ["view", "configure"])},
    "director": {"inquiry": ("all", ["view", "export"]), "activity": ("all", ["view", "export"]), "quota": ("all", ["view"])},
    "branch_manager": {"inquiry": ("branch", INQUIRY_ALL), "activity": ("branch", ["view", "add", "change", "delete", "export"]), "quota": ("branch", ["view", "configure"])},
    "supervisor": {"inquiry": ("team", ["view", "add", "change", "delete", "assign", "configure"]), "activity": ("team", ["view", "add", "change", "delete", "configure"]), "quota": ("team", ["view", "configure"])},
    "consultant": {"inquiry": ("own", ["view", "add", "change"]), "activity": ("own", ["view", "add", "change", "delete"]), "quota": ("own", ["view"])},
    "care_head": {"inquiry": ("all", ["view"]), "activity": ("all", ["view", "add", "change"]), "quota": ("all", ["view"])},
    "care_agent": {"inquiry": ("own", ["view", "add"]), "activity": ("own", ["view", "add", "change"]), "quota": ("own", ["view"])},
    "academic": {"inquiry": ("branch", ["view"]), "activity": ("branch", ["view", "add"]), "quota": ("own", ["view"])},
}


def forwards(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    RoleScope = apps.get_model("accounts", "RoleScope")
    for code, scopes in DEFAULTS.items():
        role = Role.objects.filter(code=code).first()
        if role is None:
            continue
        for object_type, (scope, actions) in scopes.items():
            RoleScope.objects.get_or_create(role=role, object_type=object_type, defaults={"scope": scope, "actions": actions})


def backwards(apps, schema_editor):
    RoleScope = apps.get_model("accounts", "RoleScope")
    RoleScope.objects.filter(object_type__in=["inquiry", "activity", "quota"]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_default_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
