"""Fixtures: a two-branch organisation with every role, used by the permission tests of every app."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from careline.accounts.models import Branch, Team, User
from careline.accounts.services import token_create
from careline.accounts.tests.factories import BranchFactory, TeamFactory, UserFactory


@dataclass
class Org:
    hn: Branch
    hcm: Branch
    hn_sales: Team
    hn_sales2: Team
    hcm_sales: Team
    hn_care: Team
    admin: User
    director: User
    manager_hn: User
    supervisor_hn: User
    consultant_hn: User
    consultant_hn_b: User
    consultant_hn2: User
    consultant_hcm: User
    care_head: User
    care_agent_hn: User
    academic_hn: User
    nobody: User  # active user without a role


@pytest.fixture
def org(db) -> Org:
    hn = BranchFactory(code="hn", name="Hà Nội")
    hcm = BranchFactory(code="hcm", name="TP Hồ Chí Minh")
    hn_sales = TeamFactory(name="Tư vấn HN 1", branch=hn)
    hn_sales2 = TeamFactory(name="Tư vấn HN 2", branch=hn)
    hcm_sales = TeamFactory(name="Tư vấn HCM", branch=hcm)
    hn_care = TeamFactory(name="CSKH HN", branch=hn, kind="care")
    admin = UserFactory(username="admin", role="admin", is_superuser=True, is_staff=True, branch=hn)
    org = Org(
        hn=hn,
        hcm=hcm,
        hn_sales=hn_sales,
        hn_sales2=hn_sales2,
        hcm_sales=hcm_sales,
        hn_care=hn_care,
        admin=admin,
        director=UserFactory(username="director", role="director", branch=hn),
        manager_hn=UserFactory(username="manager_hn", role="branch_manager", branch=hn),
        supervisor_hn=UserFactory(username="supervisor_hn", role="supervisor", team=hn_sales),
        consultant_hn=UserFactory(username="consultant_hn", role="consultant", team=hn_sales),
        consultant_hn_b=UserFactory(username="consultant_hn_b", role="consultant", team=hn_sales),
        consultant_hn2=UserFactory(username="consultant_hn2", role="consultant", team=hn_sales2),
        consultant_hcm=UserFactory(username="consultant_hcm", role="consultant", team=hcm_sales),
        care_head=UserFactory(username="care_head", role="care_head", team=hn_care),
        care_agent_hn=UserFactory(username="care_agent_hn", role="care_agent", team=hn_care),
        academic_hn=UserFactory(username="academic_hn", role="academic", branch=hn),
        nobody=UserFactory(username="nobody", role=None),
    )
    hn_sales.leader = org.supervisor_hn
    hn_sales.save()
    return org


def api_client(user: User) -> Client:
    """A test client that authenticates with a fresh personal API token."""
    _row, raw = token_create(actor=user, user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def make_api_client():
    return api_client


def web_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def make_web_client():
    return web_client
