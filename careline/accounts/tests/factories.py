from __future__ import annotations

import factory

from careline.accounts.models import Branch, Role, Team, User
from careline.accounts.services import roles_ensure_defaults


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"branch-{n}")
    name = factory.Sequence(lambda n: f"Chi nhánh {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Nhóm {n}")
    branch = factory.SubFactory(BranchFactory)


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user. Pass `role="consultant"` (a role code) and optionally `team=`; branch follows the team."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"Nhân viên {n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    branch = factory.LazyAttribute(lambda o: o.team.branch if o.team else None)
    team = None
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @factory.lazy_attribute
    def role(self) -> Role | None:
        roles_ensure_defaults()
        return Role.objects.get(code="consultant")

    @classmethod
    def _adjust_kwargs(cls, **kwargs):  # type: ignore[no-untyped-def]
        role = kwargs.get("role")
        if isinstance(role, str):
            roles_ensure_defaults()
            kwargs["role"] = Role.objects.get(code=role)
        return kwargs

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N805
        if create:
            obj.save()
