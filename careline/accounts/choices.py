from django.db import models
from django.utils.translation import gettext_lazy as _


class RoleCode(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    DIRECTOR = "director", _("Director")
    BRANCH_MANAGER = "branch_manager", _("Branch manager")
    SUPERVISOR = "supervisor", _("Sales supervisor")
    CONSULTANT = "consultant", _("Consultant")
    CARE_HEAD = "care_head", _("Head of customer care")
    CARE_AGENT = "care_agent", _("Care agent")
    ACADEMIC = "academic", _("Academic staff")


class TeamKind(models.TextChoices):
    SALES = "sales", _("Sales")
    CARE = "care", _("Customer care")
    ACADEMIC = "academic", _("Academic")
    MANAGEMENT = "management", _("Management")


# Object types that roles grant scopes on. Later domains add theirs here.
OBJECT_TYPES = ["customer"]

# The default matrix (role → object type → (scope, actions)). Loaded by a data migration and by
# `accounts.services.role_defaults_apply`; admins may change the rows afterwards in the admin site.
ALL_ACTIONS = ["view", "add", "change", "delete", "merge", "import", "export", "override_duplicate"]
DEFAULT_ROLE_SCOPES: dict[str, dict[str, tuple[str, list[str]]]] = {
    RoleCode.ADMIN: {"customer": ("all", ALL_ACTIONS)},
    RoleCode.DIRECTOR: {"customer": ("all", ["view", "export"])},
    RoleCode.BRANCH_MANAGER: {
        "customer": ("branch", ["view", "add", "change", "delete", "merge", "import", "export"])
    },
    RoleCode.SUPERVISOR: {
        "customer": ("team", ["view", "add", "change", "delete", "merge", "import", "export"])
    },
    RoleCode.CONSULTANT: {"customer": ("own", ["view", "add", "change"])},
    RoleCode.CARE_HEAD: {"customer": ("all", ["view"])},
    RoleCode.CARE_AGENT: {"customer": ("own", ["view", "change"])},
    RoleCode.ACADEMIC: {"customer": ("branch", ["view"])},
}
