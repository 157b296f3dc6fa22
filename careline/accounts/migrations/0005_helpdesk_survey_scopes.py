"""Data migration: default scopes of the eight roles for helpdesk tickets and surveys."""

from django.db import migrations

TICKET_ALL = ["view", "add", "change", "delete", "assign", "configure", "export"]
SURVEY_ALL = ["view", "add", "change", "configure", "export"]
DEFAULTS = {
    "admin": {"ticket": ("all", TICKET_ALL), "survey": ("all", SURVEY_ALL)},
    "director": {"ticket": ("all", ["view", "export"]), "survey": ("all", ["view", "export"])},
    "branch_manager": {"ticket": ("branch", ["view", "add", "change", "assign", "export"]), "survey": ("branch", ["view", "add"])},
    "supervisor": {"ticket": ("team", ["view", "add", "change"]), "survey": ("team", ["view", "add"])},
    "consultant": {"ticket": ("own", ["view", "add"]), "survey": ("own", ["view", "add"])},
    "care_head": {"ticket": ("all", TICKET_ALL), "survey": ("all", SURVEY_ALL)},
    "care_agent": {"ticket": ("team", ["view", "add", "change"]), "survey": ("team", ["view", "add"])},
    "academic": {"ticket": ("branch", ["view", "add"]), "survey": ("branch", ["view"])},
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
    RoleScope.objects.filter(object_type__in=["ticket", "survey"]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_notification")]
    operations = [migrations.RunPython(forwards, backwards)]
