from __future__ import annotations

from typing import Any

from careline.accounts.models import User
from careline.customers.models import Customer
from careline.customers.services import customer_create


def make_customer(actor: User, **data: Any) -> Customer:
    """Create a customer through the service (so search columns, contact points and audit are real)."""
    data.setdefault("full_name", "Nguyễn Văn Test")
    allow = data.pop("allow_duplicate", False)
    return customer_create(actor=actor, data=data, allow_duplicate=allow)
