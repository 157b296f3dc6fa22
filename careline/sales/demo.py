"""Demo data for the consultant's day: allocation rules per sales team, a web form and webhook connectors,
quotas like the seed job description (30 calls, 50 proposals, 20 phone offers a day, 4 new contracts a
month), email templates, recent inquiries allocated by the rules, and a few days of logged calls.

Deterministic from the seed and idempotent: run again, nothing is added twice (the inquiries carry external
ids, the rest is looked up by name).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from careline.accounts.models import Role, Team, User
from careline.activities.models import Activity, EmailTemplate
from careline.kpis.models import Quota
from careline.sales import services
from careline.sales.models import AllocationMember, AllocationRule, Connector, WebForm
from careline.vn.holidays import WorkCalendar

FIRST = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Thị", "Văn", "Minh", "Ngọc", "Thu", "Đức", "Thanh", "Hoàng"]
GIVEN = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hiếu",
    "Khánh",
    "Linh",
    "My",
    "Nam",
    "Phúc",
    "Quân",
    "Trang",
]
QUESTIONS = [
    ("IELTS", "Cho em hỏi lịch khai giảng lớp IELTS 6.5 buổi tối ạ?"),
    ("Tiếng Anh thiếu nhi", "Con tôi 8 tuổi, trung tâm có lớp cuối tuần không?"),
    ("Giao tiếp", "Mình đi làm rồi, muốn học giao tiếp cấp tốc 3 tháng, học phí bao nhiêu?"),
    ("TOEIC", "Công ty em cần đào tạo TOEIC cho 15 nhân viên, xin báo giá."),
    ("IELTS", "Em muốn thi thử xếp lớp trước khi đăng ký."),
]
CHANNELS = ["web", "web", "hotline", "zalo", "facebook", "email"]
OUTCOMES = [
    "reached",
    "reached",
    "no_answer",
    "busy",
    "interested",
    "call_back",
    "not_interested",
    "wrong_number",
]


def _last_working_morning(now: dt.datetime) -> dt.datetime:
    """10:00 local on the latest working day not after today (so the rules' working hours let it through)."""
    cal = WorkCalendar()
    day = timezone.localtime(now).date()
    while not cal.is_working_day(day):
        day -= dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


def demo_sales_load(users: dict[str, User], *, seed: int = 2026, inquiries: int = 40) -> dict[str, int]:
    """Create the consultant's-day demo (see the module docstring). Returns counts of what was added."""
    rng = random.Random(seed)
    added = {"rules": 0, "inquiries": 0, "activities": 0}
    admin = users.get("admin")
    consultants = [u for u in users.values() if u.role_code == "consultant"]
    for team in Team.objects.filter(kind="sales").select_related("branch").order_by("id"):
        members = [u for u in consultants if u.team_id == team.pk]
        if not members:
            continue
        rule, created = AllocationRule.objects.get_or_create(
            name=f"Web, hotline, Zalo — {team.name}",
            defaults={
                "team": team,
                "branch": team.branch,
                "position": 10 if team.branch.code == "hcm" else 20,
                "provinces": ["79"] if team.branch.code == "hcm" else [],
                "strategy": "round_robin",
                "reclaim_after_minutes": 3 * 24 * 60,  # a fresh demo shows no reclaim; set it lower to try
            },
        )
        added["rules"] += int(created)
        for pos, user in enumerate(sorted(members, key=lambda u: u.username)):
            AllocationMember.objects.get_or_create(
                rule=rule, user=user, defaults={"position": pos, "capacity": 60}
            )
    hn_team = Team.objects.filter(kind="sales", branch__code="hn").order_by("id").first()
    WebForm.objects.get_or_create(
        name="Đăng ký học thử (website)",
        defaults={
            "team": hn_team,
            "branch": hn_team.branch if hn_team else None,
            "consent_text": "Tôi đồng ý để trung tâm liên hệ tư vấn qua điện thoại, Zalo và email.",
            "success_message": "Cảm ơn anh/chị! Tư vấn viên sẽ gọi lại trong giờ làm việc.",
        },
    )
    Connector.objects.get_or_create(slug="zalo-oa", defaults={"name": "Zalo OA", "kind": "zalo"})
    Connector.objects.get_or_create(slug="tong-dai", defaults={"name": "Tổng đài 1900", "kind": "hotline"})
    consultant_role = Role.objects.filter(code="consultant").first()
    if consultant_role is not None:
        for kind, period, target in (
            ("call", "day", 30),
            ("proposal", "day", 50),
            ("offer", "day", 20),
            ("new_customer", "month", 4),
        ):
            Quota.objects.get_or_create(
                kind=kind,
                period=period,
                role=consultant_role,
                team=None,
                user=None,
                defaults={"target": target},
            )
    for name, subject, body in (
        (
            "Gửi lộ trình học",
            "Lộ trình học tiếng Anh cho {salutation} {given_name}",
            "Chào {salutation} {given_name},\n\nEm gửi {salutation} lộ trình học và học phí như đã trao đổi.\n\n"
            "Trân trọng,\n{staff_name} — {staff_phone}",
        ),
        (
            "Mời thi xếp lớp",
            "Mời {salutation} {given_name} thi xếp lớp miễn phí",
            "Chào {salutation} {given_name},\n\nTrung tâm mời {salutation} tham gia buổi thi xếp lớp miễn phí.\n\n"
            "{staff_name}",
        ),
    ):
        EmailTemplate.objects.get_or_create(
            name=name, defaults={"subject": subject, "body": body, "created_by": admin}
        )
    # Recent inquiries, allocated by the rules as of the last working morning.
    now = timezone.now()
    for i in range(inquiries):
        product, question = QUESTIONS[i % len(QUESTIONS)]
        name = f"{rng.choice(FIRST)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        result = services.inquiry_receive(
            actor=None,
            data=services.InquiryData(
                channel=CHANNELS[i % len(CHANNELS)],
                full_name=name,
                phone=f"09{rng.randint(10_000_000, 99_999_999)}",
                message=question,
                product_interest=product,
                province="79" if i % 3 == 0 else "01",
                consent=True,
                external_id=f"demo-{seed}-{i}",
                received_at=now - dt.timedelta(hours=rng.randint(1, 72)),
            ),
            allocate=False,
        )
        added["inquiries"] += int(result.created)
    services.leads_allocate_queued(now=_last_working_morning(now))
    added["activities"] = _demo_calls(rng, consultants, now)
    return added


def _demo_calls(rng: random.Random, consultants: list[User], now: dt.datetime) -> int:
    """A few days of calls per consultant on their own customers (written directly: demo history)."""
    from careline.customers.models import Customer

    if Activity.objects.filter(external_id__startswith="demo-call-").exists():
        return 0
    rows: list[Activity] = []
    for user in consultants:
        customers: list[Any] = list(
            Customer.objects.filter(owner=user).order_by("id").values("id", "stage")[:60]
        )
        for n, c in enumerate(customers[:45]):
            when = timezone.localtime(now) - dt.timedelta(
                days=n % 4, hours=rng.randint(0, 8), minutes=rng.randint(0, 59)
            )
            outcome = rng.choice(OUTCOMES)
            rows.append(
                Activity(
                    customer_id=c["id"],
                    kind="call",
                    outcome=outcome,
                    owner=user,
                    team_id=user.team_id,
                    branch_id=user.branch_id,
                    occurred_at=when,
                    duration_seconds=rng.randint(20, 600)
                    if outcome in ("reached", "interested", "call_back")
                    else 0,
                    customer_stage=c["stage"],
                    external_id=f"demo-call-{user.pk}-{n}",
                    created_by=user,
                )
            )
    Activity.objects.bulk_create(rows, batch_size=500)
    return len(rows)
