"""Open leads per consultant (`sales.OpenLeadCount`), kept by database triggers — see
`careline.sales.open_leads` for what counts and how the triggers keep it right on every path."""

from django.conf import settings
from django.db import migrations, models


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    from careline.sales.open_leads import open_lead_triggers_install

    open_lead_triggers_install(schema_editor.connection)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    from careline.sales.open_leads import open_lead_triggers_uninstall

    open_lead_triggers_uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("customers", "0004_lean_indexes"),
        ("sales", "0002_intake_destination"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenLeadCount",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="consultant",
                    ),
                ),
                ("open_leads", models.IntegerField(default=0, verbose_name="open leads")),
            ],
            options={
                "verbose_name": "open-lead count",
                "verbose_name_plural": "open-lead counts",
                "ordering": ["user_id"],
            },
        ),
        migrations.RunPython(forward, reverse),
    ]
