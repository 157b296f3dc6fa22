"""Deterministic demo data: a Vietnamese English-language centre with two branches, staff in every role
and N realistic customers (surnames by frequency, diacritics, phones typed in mixed formats).

Customer `i` is generated from (seed, i) alone, so re-running with a larger N only adds the missing ones,
and phones/emails are unique by construction. Large N goes through `customers.bulk` (COPY on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from careline.accounts.models import Branch, Team, User
from careline.accounts.services import roles_ensure_defaults, user_create
from careline.core.audit import audit_record
from careline.core.models import AuditAction
from careline.customers.bulk import BulkCustomer, customers_bulk_insert
from careline.customers.models import Customer, Tag
from careline.vn import fold, normalize_phone, wards_of

DEMO_REF = "demo-"

SURNAMES = [  # share of the population, roughly
    ("Nguyễn", 38),
    ("Trần", 11),
    ("Lê", 9.5),
    ("Phạm", 7),
    ("Hoàng", 4.5),
    ("Huỳnh", 2),
    ("Phan", 4.5),
    ("Vũ", 3.9),
    ("Võ", 2),
    ("Đặng", 2.1),
    ("Bùi", 2),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1),
    ("Lý", 0.5),
    ("Đinh", 0.6),
    ("Trịnh", 0.5),
    ("Mai", 0.4),
    ("Lương", 0.4),
    ("Cao", 0.3),
    ("Tạ", 0.2),
]
MIDDLE_M = ["Văn", "Minh", "Đức", "Quang", "Hữu", "Thanh", "Hoàng", "Anh", "Công", "Gia", "Quốc", "Tuấn"]
MIDDLE_F = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Bảo", "Khánh", "Hồng", "Mai"]
GIVEN_M = [
    "Anh",
    "Minh",
    "Hùng",
    "Dũng",
    "Tuấn",
    "Nam",
    "Hải",
    "Long",
    "Khoa",
    "Huy",
    "Phúc",
    "Bảo",
    "Quân",
    "Đức",
    "Thắng",
    "Tùng",
    "Hiếu",
    "Sơn",
    "Trung",
    "Việt",
    "Đạt",
    "Khánh",
    "Lâm",
    "Phong",
    "Thịnh",
]
GIVEN_F = [
    "Lan",
    "Hương",
    "Linh",
    "Trang",
    "Mai",
    "Hà",
    "Ngọc",
    "Thảo",
    "Hằng",
    "Nhung",
    "Vy",
    "Anh",
    "Huyền",
    "Yến",
    "Chi",
    "Phương",
    "Hạnh",
    "Thủy",
    "Trâm",
    "Oanh",
    "Nhi",
    "My",
    "Giang",
    "Quỳnh",
    "Ánh",
]
ORG_KINDS = ["Công ty TNHH", "Công ty Cổ phần", "Trường Tiểu học", "Trường THCS", "Công ty TNHH MTV"]
ORG_WORDS = [
    "Hoàng Long",
    "Minh Phát",
    "Thành Công",
    "Sao Việt",
    "An Khang",
    "Phú Thịnh",
    "Đại Dương",
    "Việt Tiến",
    "Hưng Thịnh",
    "Bình An",
    "Tân Phú",
    "Ánh Dương",
    "Kim Ngân",
    "Hòa Bình",
    "Trí Việt",
]
MOBILE_PREFIXES = [
    "091",
    "094",
    "088",
    "083",
    "084",
    "085",
    "081",
    "082",
    "090",
    "093",
    "089",
    "070",
    "076",
    "077",
    "078",
    "079",
    "096",
    "097",
    "098",
    "086",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "056",
    "058",
]
EMAIL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "fpt.vn"]
TAGS = [
    "IELTS",
    "TOEIC",
    "Tiếng Anh trẻ em",
    "Giao tiếp",
    "Phụ huynh",
    "Doanh nghiệp",
    "VIP 2026",
    "Học thử",
    "Học viên cũ",
    "Zalo OA",
]
STREETS = [
    "Nguyễn Trãi",
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Điện Biên Phủ",
    "Nguyễn Huệ",
    "Cầu Giấy",
    "Kim Mã",
    "Võ Văn Tần",
    "Pasteur",
    "Láng Hạ",
]
STAGES = [("lead", 30), ("prospect", 25), ("customer", 35), ("inactive", 10)]
SOURCES = [
    ("web", 25),
    ("hotline", 15),
    ("facebook", 20),
    ("zalo", 15),
    ("referral", 10),
    ("walk_in", 8),
    ("event", 4),
    ("marketplace", 3),
]


@dataclass(frozen=True)
class StaffSpec:
    username: str
    name: str
    role: str
    branch: str | None
    team: str | None
    lead: bool = False


BRANCHES = [("hn", "Hà Nội", "01"), ("hcm", "TP Hồ Chí Minh", "79")]
TEAMS = [
    ("hn", "Tư vấn Hà Nội", "sales"),
    ("hn", "CSKH Hà Nội", "care"),
    ("hn", "Học thuật Hà Nội", "academic"),
    ("hcm", "Tư vấn HCM", "sales"),
    ("hcm", "CSKH HCM", "care"),
]
STAFF = [
    StaffSpec("admin", "Quản trị hệ thống", "admin", "hn", None),
    StaffSpec("giamdoc", "Phạm Minh Đức", "director", "hn", None),
    StaffSpec("ql.hanoi", "Trần Thu Hà", "branch_manager", "hn", None),
    StaffSpec("ql.hcm", "Lê Quốc Bảo", "branch_manager", "hcm", None),
    StaffSpec("gs.hanoi", "Nguyễn Lan Anh", "supervisor", "hn", "Tư vấn Hà Nội", lead=True),
    StaffSpec("gs.hcm", "Võ Thanh Tùng", "supervisor", "hcm", "Tư vấn HCM", lead=True),
    StaffSpec("tv.hanoi1", "Đỗ Thị Mai", "consultant", "hn", "Tư vấn Hà Nội"),
    StaffSpec("tv.hanoi2", "Bùi Văn Nam", "consultant", "hn", "Tư vấn Hà Nội"),
    StaffSpec("tv.hcm1", "Huỳnh Ngọc Trâm", "consultant", "hcm", "Tư vấn HCM"),
    StaffSpec("tv.hcm2", "Phan Anh Khoa", "consultant", "hcm", "Tư vấn HCM"),
    StaffSpec("cskh.truong", "Đặng Thị Hồng", "care_head", "hn", "CSKH Hà Nội", lead=True),
    StaffSpec("cskh.hanoi", "Ngô Thùy Linh", "care_agent", "hn", "CSKH Hà Nội"),
    StaffSpec("cskh.hcm", "Lý Gia Huy", "care_agent", "hcm", "CSKH HCM", lead=True),
    StaffSpec("hocthuat", "Trịnh Minh Châu", "academic", "hn", "Học thuật Hà Nội", lead=True),
]


def _weighted(rng: random.Random, pairs: list[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


@transaction.atomic
def demo_organisation() -> dict[str, User]:
    """Branches, teams and the 14 demo staff (idempotent). Returns users by username."""
    roles_ensure_defaults()
    branches = {}
    for code, name, province in BRANCHES:
        branches[code], _ = Branch.objects.get_or_create(
            code=code, defaults={"name": name, "province": province}
        )
    teams = {}
    for branch_code, name, kind in TEAMS:
        teams[name], _ = Team.objects.get_or_create(
            branch=branches[branch_code], name=name, defaults={"kind": kind}
        )
    users: dict[str, User] = {}
    hashed = make_password(settings.CARELINE_DEMO_PASSWORD)  # one slow hash for all 14 accounts
    for spec in STAFF:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = user_create(
                actor=None,
                username=spec.username,
                role=spec.role,
                password=None,
                email=f"{spec.username.replace('.', '-')}@demo.careline.vn",
                display_name=spec.name,
                branch=branches[spec.branch] if spec.branch else None,
                team=teams[spec.team] if spec.team else None,
                is_superuser=spec.role == "admin",
            )
            User.objects.filter(pk=user.pk).update(password=hashed)
        if spec.lead and spec.team:
            Team.objects.filter(pk=teams[spec.team].pk, leader__isnull=True).update(leader=user)
        users[spec.username] = user
    return users


def _phone_raw(rng: random.Random, i: int) -> str:
    """A unique mobile for customer i, typed the way people type phones."""
    prefix = MOBILE_PREFIXES[i % len(MOBILE_PREFIXES)]
    subscriber = (i // len(MOBILE_PREFIXES)) * 104729 % 10_000_000  # bijection per prefix
    national = f"{prefix}{subscriber:07d}"
    style = rng.randrange(7)
    if style == 0:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    if style == 1:
        return f"{national[:4]}.{national[4:7]}.{national[7:]}"
    if style == 2:
        return f"+84 {national[1:4]} {national[4:7]} {national[7:]}"
    if style == 3:
        return "84" + national[1:]
    if style == 4:
        return national[1:]  # Excel dropped the leading 0
    if style == 5:
        return f"{national[:4]}-{national[4:7]}-{national[7:]}"
    return national


def _tax_code(i: int) -> str:
    from stdnum.vn import mst

    n = i
    while True:
        base = f"01{(n * 7907) % 10_000_000:07d}"
        check = mst.calc_check_digit(base)
        if len(check) == 1:
            return base + check
        n += 10_000_019


def demo_customer(
    seed: int, i: int, staff: dict[str, list[User]], tags: list[Tag], now: dt.datetime
) -> BulkCustomer:
    """Customer number i of the demo (deterministic in seed and i)."""
    rng = random.Random(f"{seed}:{i}")
    branch_code = "hn" if rng.random() < 0.6 else "hcm"
    owners = staff[branch_code]
    is_org = rng.random() < 0.08
    if i == 0:
        full_name, female, is_org, branch_code = "Nguyễn Thị Lan", True, False, "hn"
        owners = staff["hn"]
    elif is_org:
        full_name = f"{rng.choice(ORG_KINDS)} {rng.choice(ORG_WORDS)} {rng.choice(['', 'Group', 'Việt Nam', str(i)])}".strip()
        female = False
    else:
        female = rng.random() < 0.55
        surname = _weighted(rng, SURNAMES)
        middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
        given = rng.choice(GIVEN_F if female else GIVEN_M)
        full_name = f"{surname} {middle} {given}" if rng.random() < 0.93 else f"{surname} {given}"
    phones = [(normalize_phone("0912 345 678" if i == 0 else _phone_raw(rng, i)), "mobile")]
    if rng.random() < 0.12:
        area = "024" if branch_code == "hn" else "028"
        phones.append(
            (normalize_phone(f"{area} 3{(i * 7919) % 10_000_000:07d}"), "work" if is_org else "home")
        )
    emails = []
    if rng.random() < 0.6 or is_org:
        local = fold(full_name).replace(" ", ".")[:30] if not is_org else f"lienhe{i}"
        emails.append(f"{local}{i}@{rng.choice(EMAIL_DOMAINS)}".replace("..", "."))
    owner = rng.choice(owners) if rng.random() < 0.9 else None
    team_id = owner.team_id if owner else next(u.team_id for u in owners if u.team_id)
    stage = _weighted(rng, STAGES)
    created = now - dt.timedelta(days=rng.randrange(0, 730), minutes=rng.randrange(0, 1440))
    values: dict[str, object] = {
        "kind": "organization" if is_org else "person",
        "full_name": full_name,
        "salutation": ""
        if is_org
        else ("chi" if female else "anh")
        if rng.random() < 0.8
        else ("co" if female else "chu"),
        "stage": stage,
        "source": _weighted(rng, SOURCES),
        "owner_id": owner.pk if owner else None,
        "team_id": team_id,
        "branch_id": owners[0].branch_id,
        "province": "01" if branch_code == "hn" else "79",
        "external_ref": f"{DEMO_REF}{i}",
        "created_at": created,
        "updated_at": created,
    }
    if rng.random() < 0.3:
        values["province"] = rng.choice(["01", "79", "24", "31", "48", "75", "38", "92"])
    wards = wards_of(str(values["province"]))
    if wards and rng.random() < 0.7:
        values["ward"] = rng.choice(wards).name
        values["street"] = f"Số {rng.randrange(1, 300)} {rng.choice(STREETS)}"
    if is_org:
        values["tax_code"] = _tax_code(i)
        values["founded_on"] = dt.date(rng.randrange(1995, 2024), rng.randrange(1, 13), rng.randrange(1, 29))
        values["price_type"] = rng.choice(["wholesale", "contract", "agent"])
        values["receivable_amount"] = rng.randrange(0, 300) * 500_000
    elif rng.random() < 0.7:
        values["birthday"] = dt.date(rng.randrange(1965, 2019), rng.randrange(1, 13), rng.randrange(1, 29))
        values["lunar_birthday"] = rng.random() < 0.1
    if stage == "customer" and rng.random() < 0.2:
        values["tier"] = rng.choice(["vip", "gold", "silver"])
    tag_ids = [t.pk for t in rng.sample(tags, k=rng.choice([0, 0, 1, 1, 2]))]
    return BulkCustomer(values=values, phones=phones, emails=emails, tag_ids=tag_ids)


def demo_load(
    *, customers: int = 2000, seed: int = 2026, progress: Callable[[int, int], None] | None = None
) -> int:
    """Create the organisation and customers up to `customers` (only the missing ones). Returns how many were added."""
    users = demo_organisation()
    tags = []
    for name in TAGS:
        tag, _ = Tag.objects.get_or_create(name_folded=fold(name), defaults={"name": name})
        tags.append(tag)
    existing = Customer.objects.filter(external_ref__startswith=DEMO_REF).count()
    if existing >= customers:
        _domain_demos(users, seed)
        return 0
    sales = [u for u in users.values() if u.role_code in ("consultant", "care_agent")]
    staff = {
        "hn": [u for u in sales if u.branch and u.branch.code == "hn"],
        "hcm": [u for u in sales if u.branch and u.branch.code == "hcm"],
    }
    now = timezone.now()
    total = customers - existing

    def rows() -> Iterator[BulkCustomer]:
        for i in range(existing, customers):
            yield demo_customer(seed, i, staff, tags, now)

    added = customers_bulk_insert(
        rows(), batch_size=10_000, progress=(lambda done: progress(done, total)) if progress else None
    )
    audit_record(
        actor=None,
        action=AuditAction.IMPORT,
        object_type="customers.customer",
        object_repr=f"demo data: {len(added)} customers",
        actor_label="careline demo",
    )
    _domain_demos(users, seed)
    return len(added)


def _domain_demos(users: dict[str, User], seed: int) -> None:
    """Each domain's demo records (idempotent): leads, rules, quotas and calls; later issues add theirs."""
    from careline.helpdesk.demo import demo_helpdesk_load
    from careline.sales.demo import demo_sales_load

    demo_sales_load(users, seed=seed)
    demo_helpdesk_load(users, seed=seed)


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, display name, role) of the demo staff that exist."""
    found = {
        u.username: u
        for u in User.objects.filter(username__in=[s.username for s in STAFF]).select_related("role")
    }
    return [(s.username, s.name, s.role) for s in STAFF if s.username in found]
