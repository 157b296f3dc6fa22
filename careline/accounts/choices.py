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


# Object types that roles grant scopes on. Later domains add theirs here (and a data migration).
OBJECT_TYPES = ["customer", "inquiry", "activity", "quota", "ticket", "survey"]

# The default matrix (role → object type → (scope, actions)). Loaded by data migrations and by
# `accounts.services.role_defaults_apply`; admins may change the rows afterwards in the admin site.
# inquiry: leads/inquiries, their allocation (assign) and intake set-up (configure: rules, forms, hooks).
# activity: calls, emails, meetings… (configure: email templates). quota: targets (configure: define them).
ALL_ACTIONS = ["view", "add", "change", "delete", "merge", "import", "export", "override_duplicate"]
INQUIRY_ALL = ["view", "add", "change", "delete", "assign", "configure", "export"]
ACTIVITY_ALL = ["view", "add", "change", "delete", "configure", "export"]
TICKET_ALL = ["view", "add", "change", "delete", "assign", "configure", "export"]
SURVEY_ALL = ["view", "add", "change", "configure", "export"]
# ticket: helpdesk tickets (assign: reassign; configure: categories, SLA, playbooks, canned replies).
# survey: surveys and responses (add: send / record; configure: define surveys).
TICKET_SCOPES: dict[str, tuple[str, list[str]]] = {
    RoleCode.ADMIN: ("all", TICKET_ALL),
    RoleCode.DIRECTOR: ("all", ["view", "export"]),
    RoleCode.BRANCH_MANAGER: ("branch", ["view", "add", "change", "assign", "export"]),
    RoleCode.SUPERVISOR: ("team", ["view", "add", "change"]),
    RoleCode.CONSULTANT: ("own", ["view", "add"]),
    RoleCode.CARE_HEAD: ("all", TICKET_ALL),
    RoleCode.CARE_AGENT: ("team", ["view", "add", "change"]),
    RoleCode.ACADEMIC: ("branch", ["view", "add"]),
}
SURVEY_SCOPES: dict[str, tuple[str, list[str]]] = {
    RoleCode.ADMIN: ("all", SURVEY_ALL),
    RoleCode.DIRECTOR: ("all", ["view", "export"]),
    RoleCode.BRANCH_MANAGER: ("branch", ["view", "add"]),
    RoleCode.SUPERVISOR: ("team", ["view", "add"]),
    RoleCode.CONSULTANT: ("own", ["view", "add"]),
    RoleCode.CARE_HEAD: ("all", SURVEY_ALL),
    RoleCode.CARE_AGENT: ("team", ["view", "add"]),
    RoleCode.ACADEMIC: ("branch", ["view"]),
}
DEFAULT_ROLE_SCOPES: dict[str, dict[str, tuple[str, list[str]]]] = {
    RoleCode.ADMIN: {
        "customer": ("all", ALL_ACTIONS),
        "inquiry": ("all", INQUIRY_ALL),
        "activity": ("all", ACTIVITY_ALL),
        "quota": ("all", ["view", "configure"]),
    },
    RoleCode.DIRECTOR: {
        "customer": ("all", ["view", "export"]),
        "inquiry": ("all", ["view", "export"]),
        "activity": ("all", ["view", "export"]),
        "quota": ("all", ["view"]),
    },
    RoleCode.BRANCH_MANAGER: {
        "customer": ("branch", ["view", "add", "change", "delete", "merge", "import", "export"]),
        "inquiry": ("branch", INQUIRY_ALL),
        "activity": ("branch", ["view", "add", "change", "delete", "export"]),
        "quota": ("branch", ["view", "configure"]),
    },
    RoleCode.SUPERVISOR: {
        "customer": ("team", ["view", "add", "change", "delete", "merge", "import", "export"]),
        "inquiry": ("team", ["view", "add", "change", "delete", "assign", "configure"]),
        "activity": ("team", ["view", "add", "change", "delete", "configure"]),
        "quota": ("team", ["view", "configure"]),
    },
    RoleCode.CONSULTANT: {
        "customer": ("own", ["view", "add", "change"]),
        "inquiry": ("own", ["view", "add", "change"]),
        "activity": ("own", ["view", "add", "change", "delete"]),
        "quota": ("own", ["view"]),
    },
    RoleCode.CARE_HEAD: {
        "customer": ("all", ["view"]),
        "inquiry": ("all", ["view"]),
        "activity": ("all", ["view", "add", "change"]),
        "quota": ("all", ["view"]),
    },
    RoleCode.CARE_AGENT: {
        "customer": ("own", ["view", "change"]),
        "inquiry": ("own", ["view", "add"]),
        "activity": ("own", ["view", "add", "change"]),
        "quota": ("own", ["view"]),
    },
    RoleCode.ACADEMIC: {
        "customer": ("branch", ["view"]),
        "inquiry": ("branch", ["view"]),
        "activity": ("branch", ["view", "add"]),
        "quota": ("own", ["view"]),
    },
}
for _role, _scopes in DEFAULT_ROLE_SCOPES.items():
    _scopes["ticket"] = TICKET_SCOPES[_role]
    _scopes["survey"] = SURVEY_SCOPES[_role]
