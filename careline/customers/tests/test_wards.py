"""Ward (2025 two-level structure) on client cards: validated against the province, stored by full name."""

import pytest

from careline.conftest import web_client
from careline.core.errors import ValidationFailed
from careline.customers import services
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_ward_is_normalised_to_its_full_name(org):
    c = make_customer(org.consultant_hn, province="01", ward="ba dinh")
    assert c.ward == "Phường Ba Đình"


def test_ward_of_another_province_is_refused(org):
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.consultant_hn, province="79", ward="Ba Đình")
    assert "ward" in exc.value.fields


def test_ward_without_province_is_refused(org):
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.consultant_hn, ward="Ba Đình")
    assert "ward" in exc.value.fields


def test_changing_province_rechecks_the_stored_ward(org):
    c = make_customer(org.consultant_hn, province="01", ward="Ba Đình")
    with pytest.raises(ValidationFailed) as exc:
        services.customer_update(actor=org.consultant_hn, customer_id=c.pk, data={"province": "79"})
    assert "ward" in exc.value.fields
    c = services.customer_update(
        actor=org.consultant_hn, customer_id=c.pk, data={"province": "79", "ward": ""}
    )
    assert (c.province, c.ward) == ("79", "")


def test_ward_options_follow_the_province(org):
    client = web_client(org.consultant_hn)
    html = client.get("/customers/wards/", {"province": "01"}, HTTP_HX_REQUEST="true").content.decode()
    assert '<option value="Phường Ba Đình">' in html
    assert "Phường Sài Gòn" not in html
    html = client.get("/customers/wards/", {"province": "79"}).content.decode()
    assert "Phường Sài Gòn" in html
    assert client.get("/customers/wards/", {"province": "zz"}).content.decode().count("<option") == 1
