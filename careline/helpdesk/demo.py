"""Demo data for the customer-care desk: a category tree, SLA policies, the company's working hours, two
playbooks with canned replies, and a dozen tickets from the demo customers in every state (new, answered,
waiting on the customer, resolved at first contact, reopened).

Deterministic from the seed and idempotent: run again, nothing is added twice (tickets carry external ids,
the settings are looked up by name).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from careline.accounts.models import Team, User
from careline.customers.models import Customer
from careline.helpdesk import services
from careline.helpdesk.models import Category, SlaPolicy, WorkSchedule

# (path, default priority, team name, skills)
CATEGORIES: list[tuple[tuple[str, ...], str, str, list[str]]] = [
    (("Giao hàng",), "", "CSKH Hà Nội", []),
    (("Giao hàng", "Giao chậm"), "", "", []),
    (("Giao hàng", "Hàng lỗi / hư hỏng"), "high", "", []),
    (("Học phí",), "", "CSKH Hà Nội", []),
    (("Học phí", "Hoàn học phí"), "high", "", []),
    (("Lịch học",), "low", "CSKH HCM", []),
    (("Bảo hành",), "normal", "CSKH HCM", []),
]
POLICIES: list[dict[str, Any]] = [
    {
        "name": "Khẩn cấp",
        "position": 10,
        "priority": "urgent",
        "first_response_minutes": 30,
        "resolution_minutes": 240,
    },
    {
        "name": "Khách VIP",
        "position": 20,
        "tier": "vip",
        "first_response_minutes": 30,
        "resolution_minutes": 480,
    },
    {
        "name": "Ưu tiên cao",
        "position": 30,
        "priority": "high",
        "first_response_minutes": 60,
        "resolution_minutes": 480,
    },
    {"name": "Mặc định", "position": 100, "first_response_minutes": 120, "resolution_minutes": 960},
]
PLAYBOOKS: dict[tuple[str, ...], dict[str, Any]] = {
    ("Giao hàng", "Hàng lỗi / hư hỏng"): {
        "steps": [
            "Xin khách ảnh chụp sản phẩm và mã đơn",
            "Đối chiếu đơn hàng và biên bản giao nhận",
            "Tạo phiếu đổi trả với kho",
            "Gọi lại khách xác nhận lịch giao hàng mới",
        ],
        "involve": "Kho Hà Nội, đơn vị vận chuyển",
        "canned_replies": [
            {
                "title": "Xin lỗi và xin ảnh",
                "body": "Chào {salutation} {given_name}, em là {agent_name} bên CSKH. Em rất tiếc về sự cố của "
                "đơn hàng. {salutation} gửi giúp em ảnh sản phẩm và mã đơn để em xử lý ngay ạ (mã yêu cầu {ticket}).",
            },
            {
                "title": "Đã tạo phiếu đổi trả",
                "body": "Dạ em đã tạo phiếu đổi trả cho {salutation} {given_name}. Sản phẩm mới sẽ được giao trong "
                "2–3 ngày làm việc. Cảm ơn {salutation} đã kiên nhẫn ạ.",
            },
        ],
    },
    ("Học phí", "Hoàn học phí"): {
        "steps": [
            "Kiểm tra hợp đồng và số buổi đã học",
            "Tính số tiền hoàn theo chính sách",
            "Trình trưởng CSKH duyệt",
            "Báo khách thời gian hoàn tiền",
        ],
        "involve": "Kế toán, trưởng CSKH",
        "canned_replies": [
            {
                "title": "Đã nhận yêu cầu hoàn phí",
                "body": "Chào {salutation} {given_name}, trung tâm đã nhận yêu cầu hoàn học phí ({ticket}). "
                "Em sẽ báo kết quả trong 2 ngày làm việc ạ. — {agent_name}",
            },
        ],
    },
}
# (customer number, channel, kind, category path, subject, message, what happens next)
TICKETS: list[tuple[int, str, str, tuple[str, ...] | None, str, str, str]] = [
    (0, "hotline", "complaint", ("Giao hàng", "Giao chậm"), "Đơn hàng giao chậm 5 ngày",
     "Tôi đặt hàng tuần trước mà đến giờ vẫn chưa nhận được.", "new"),
    (3, "zalo", "complaint", ("Giao hàng", "Hàng lỗi / hư hỏng"), "Hộp sản phẩm bị móp méo",
     "Hàng giao tới bị móp hộp, bên trong có vết nứt.", "answered"),
    (5, "email", "request", ("Học phí", "Hoàn học phí"), "Xin hoàn học phí khóa IELTS",
     "Con tôi chuyển trường nên xin rút và hoàn học phí phần còn lại.", "waiting"),
    (7, "web", "inquiry", ("Lịch học",), "Hỏi lịch học bù tuần sau",
     "Tuần sau lớp em nghỉ lễ, trung tâm có xếp lịch học bù không ạ?", "fcr"),
    (11, "facebook", "complaint", ("Giao hàng", "Giao chậm"), "Shipper hẹn mà không tới",
     "Shipper hẹn giao sáng nay nhưng không tới, cũng không gọi.", "reopened"),
    (13, "hotline", "warranty", ("Bảo hành",), "Bảo hành máy lọc nước",
     "Máy lọc nước kêu to sau 3 tháng sử dụng.", "answered"),
    (17, "marketplace", "complaint", ("Giao hàng", "Hàng lỗi / hư hỏng"), "Giao sai màu",
     "Tôi đặt màu xanh nhưng nhận được màu đỏ.", "new"),
    (19, "email", "inquiry", None, "Xin hóa đơn VAT", "Công ty tôi cần xuất hóa đơn VAT cho đơn tháng trước.", "fcr"),
    (23, "hotline", "request", ("Học phí",), "Đổi hình thức đóng học phí",
     "Tôi muốn chuyển sang đóng học phí theo tháng.", "answered"),
    (29, "web", "complaint", ("Lịch học",), "Giáo viên đổi lịch liên tục",
     "Ba tuần nay lịch học bị đổi 4 lần, rất bất tiện.", "new"),
]  # fmt: skip


def _category(path: tuple[str, ...]) -> Category | None:
    parent = None
    for name in path:
        parent = Category.objects.filter(parent=parent, name=name).first()
        if parent is None:
            return None
    return parent


def demo_helpdesk_load(users: dict[str, User], *, seed: int = 2026) -> dict[str, int]:
    """Load (or top up) the helpdesk demo. Returns how many records of each kind were added."""
    admin = users["admin"]
    added = {"categories": 0, "policies": 0, "playbooks": 0, "tickets": 0}
    if not WorkSchedule.objects.filter(branch__isnull=True).exists():
        services.schedule_save(actor=admin, data={})
    for path, priority, team_name, skills in CATEGORIES:
        if _category(path) is not None:
            continue
        parent = _category(path[:-1]) if len(path) > 1 else None
        team = Team.objects.filter(name=team_name).first() if team_name else None
        services.category_create(
            actor=admin,
            name=path[-1],
            parent_id=parent.pk if parent else None,
            team_id=team.pk if team else None,
            default_priority=priority,
            skills=skills,
        )
        added["categories"] += 1
    for policy in POLICIES:
        if not SlaPolicy.objects.filter(name=policy["name"]).exists():
            services.sla_policy_save(actor=admin, data={**policy, "warn_before_minutes": 15})
            added["policies"] += 1
    for path, book in PLAYBOOKS.items():
        category = _category(path)
        if category is not None and not hasattr(category, "playbook"):
            services.playbook_save(actor=admin, category_id=category.pk, **book)
            added["playbooks"] += 1
    added["tickets"] = _demo_tickets(users, seed)
    return added


def _demo_tickets(users: dict[str, User], seed: int) -> int:
    rng = random.Random(f"helpdesk:{seed}")
    now = timezone.now()
    customers = {
        c.external_ref: c for c in Customer.objects.filter(external_ref__in=[f"demo-{t[0]}" for t in TICKETS])
    }
    admin = users["admin"]
    added = 0
    for n, (number, channel, kind, path, subject, message, then) in enumerate(TICKETS):
        hours_ago = rng.randint(2, 72)
        customer = customers.get(f"demo-{number}")
        if customer is None:
            continue
        category = _category(path) if path else None
        result = services.ticket_receive(
            actor=admin,
            data=services.TicketData(
                channel=channel,
                kind=kind,
                subject=subject,
                message=message,
                customer_id=customer.pk,
                category_id=category.pk if category else None,
                opened_at=now - dt.timedelta(hours=hours_ago),
                external_id=f"demo-ticket-{n}",
                thread=False,
            ),
        )
        if not result.created:
            continue
        added += 1
        _play(result.ticket.pk, then, users)
    return added


def _play(ticket_id: int, then: str, users: dict[str, User]) -> None:
    """Move a demo ticket along: a reply, waiting on the customer, resolved, reopened."""
    from careline.helpdesk.models import Ticket

    ticket = Ticket.objects.select_related("assignee").get(pk=ticket_id)
    agent = ticket.assignee or users["cskh.truong"]
    if then == "new":
        return
    services.message_add(
        actor=agent, ticket_id=ticket_id, body="Dạ em đã nhận thông tin, em kiểm tra và báo lại ngay ạ."
    )
    if then == "waiting":
        services.ticket_update(actor=agent, ticket_id=ticket_id, data={"status": "waiting"})
    elif then in ("fcr", "reopened"):
        services.ticket_resolve(actor=agent, ticket_id=ticket_id)
        if then == "reopened":
            services.message_add(
                actor=None, ticket_id=ticket_id, body="Vẫn chưa được giải quyết, nhờ kiểm tra lại."
            )
