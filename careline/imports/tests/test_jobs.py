"""Import and export jobs end to end: modes, all-or-nothing, in-file duplicates, matching, error report,
formula-safe exports, permissions and audit."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from python_calamine import CalamineWorkbook

from careline.conftest import api_client, web_client
from careline.core.errors import ApplicationError, PermissionDenied
from careline.core.models import AuditEvent
from careline.customers.models import ContactPoint, Customer
from careline.customers.selectors import CustomerFilters
from careline.customers.tests.factories import make_customer
from careline.imports import services
from careline.imports.models import Job

pytestmark = pytest.mark.django_db


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


HEADER = ["Họ và tên", "SĐT", "Email", "Ngày sinh", "Tỉnh/TP"]
GOOD = [
    HEADER,
    ["nguyễn thị lan", "0912.345.678", "lan@example.vn", "15/08/1990", "Hà Nội"],
    ["Trần Văn Hùng", "987654321", "", "1/2/85", "Sài Gòn"],
    ["Lê Thị Mai", "+84 903 111 222 / 024 3826 1234", "mai@example.vn", "", "Bình Dương"],
]


def run(actor, data: bytes, filename: str = "khach.csv", **kwargs):
    job = services.import_start(actor=actor, data=data, filename=filename, run_now=True, **kwargs)
    job.refresh_from_db()
    return job


def test_import_creates_normalised_searchable_customers(org):
    job = run(org.supervisor_hn, csv_bytes(GOOD))
    assert (job.status, job.created, job.failed) == ("succeeded", 3, 0), job.message
    lan = Customer.objects.get(full_name="Nguyễn Thị Lan")
    assert lan.owner == org.supervisor_hn and lan.team == org.hn_sales and lan.source == "import"
    assert lan.birthday.isoformat() == "1990-08-15" and lan.province == "01"
    assert " lan " in lan.search_text and "0912345678" in lan.search_text
    hung = Customer.objects.get(full_name="Trần Văn Hùng")
    assert hung.province == "79" and hung.birthday.isoformat() == "1985-02-01"
    assert list(hung.contact_points.values_list("value", flat=True)) == ["+84987654321"]
    mai = Customer.objects.get(full_name="Lê Thị Mai")
    assert sorted(mai.contact_points.filter(kind="phone").values_list("value", flat=True)) == [
        "+842438261234",
        "+84903111222",
    ]
    assert mai.province == "79"  # Bình Dương merged into TP Hồ Chí Minh in 2025
    assert AuditEvent.objects.filter(action="import", object_type="customers.customer").exists()


def test_one_bad_row_writes_nothing_and_reports_it(org):
    rows = [*GOOD, ["Phạm Văn Sai", "12345", "", "31/02/1990", ""]]
    job = run(org.supervisor_hn, csv_bytes(rows))
    assert job.status == "failed" and job.created == 0 and job.failed == 1
    assert Customer.objects.count() == 0
    columns = {e["column"] for e in job.errors}
    assert all(e["row"] == 5 for e in job.errors) and {"SĐT", "Ngày sinh"} <= columns
    report = CalamineWorkbook.from_path(str(services.job_result_path(job))).get_sheet_by_index(0).to_python()
    assert report[0][-1] and report[1][0] == "Phạm Văn Sai" and "SĐT" in report[1][-1]
    # fix the row in the report and import the report again: it works
    fixed = [report[0][:-1], ["Phạm Văn Đúng", "0913 000 111", "", "28/02/1990", ""]]
    assert run(org.supervisor_hn, csv_bytes([[str(c) for c in r] for r in fixed])).created == 1


def test_partial_mode_writes_valid_rows_and_reports_the_rest(org):
    rows = [*GOOD, ["Phạm Văn Sai", "12345", "", "", ""]]
    job = run(org.supervisor_hn, csv_bytes(rows), all_or_nothing=False)
    assert (job.status, job.created, job.failed) == ("succeeded", 3, 1)
    assert Customer.objects.count() == 3 and job.result_name == "errors.xlsx"


def test_duplicates_inside_the_file_are_merged_never_imported_twice(org):
    rows = [
        HEADER,
        ["Nguyễn Thị Lan", "0912345678", "", "", ""],
        ["Lan Nguyễn", "0912 345 678", "lan@example.vn", "15/08/1990", "Hà Nội"],
        ["Nguyễn T. Lan", "", "LAN@example.vn", "", ""],
    ]
    job = run(org.supervisor_hn, csv_bytes(rows))
    assert job.created == 1 and job.options["merged_rows"] == 2
    lan = Customer.objects.get()
    assert (
        lan.full_name == "Nguyễn Thị Lan"
        and lan.birthday.isoformat() == "1990-08-15"
        and lan.province == "01"
    )
    assert sorted(lan.contact_points.values_list("value", flat=True)) == ["+84912345678", "lan@example.vn"]


def test_modes_against_existing_customers(org):
    existing = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912 345 678"])
    data = csv_bytes(GOOD)
    created = run(org.supervisor_hn, data)  # create-only: the match is an error → nothing written
    assert created.status == "failed" and created.errors[0]["row"] == 2 and Customer.objects.count() == 1
    skipped = run(org.supervisor_hn, data, mode="skip")
    assert (skipped.created, skipped.skipped) == (2, 1)
    again = run(org.supervisor_hn, data, mode="skip")  # re-running creates no duplicates
    assert (again.created, again.skipped) == (0, 3) and Customer.objects.count() == 3
    updated = run(org.supervisor_hn, data, mode="update")
    assert updated.updated == 3 and updated.created == 0
    existing.refresh_from_db()
    assert existing.birthday.isoformat() == "1990-08-15"
    assert sorted(existing.contact_points.values_list("value", flat=True)) == [
        "+84912345678",
        "lan@example.vn",
    ]


def test_customers_out_of_scope_are_not_matched_or_touched(org):
    other = make_customer(org.consultant_hcm, full_name="Nguyễn Thị Lan", phones=["0912 345 678"])
    job = run(org.supervisor_hn, csv_bytes(GOOD[:2]), mode="update")
    assert job.created == 1 and job.updated == 0  # the HCM customer is invisible: a new card is made
    other.refresh_from_db()
    assert other.owner == org.consultant_hcm and other.birthday is None


def test_import_needs_the_import_permission(org):
    with pytest.raises(PermissionDenied):
        services.import_start(actor=org.consultant_hn, data=csv_bytes(GOOD), filename="x.csv")
    assert Job.objects.count() == 0


def test_unusable_files_are_refused_clearly(org):
    with pytest.raises(ApplicationError) as exc:
        services.import_start(actor=org.admin, data=b"%PDF-1.4 ...", filename="khach.pdf")
    assert exc.value.status == 422 and exc.value.code.startswith("file_")


def test_export_is_formula_safe_utf8_bom_and_scoped(org):
    make_customer(
        org.consultant_hn, full_name='=HYPERLINK("http://x")', phones=["0912 345 678"], tags=["@vip"]
    )
    make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0987 654 321"])
    make_customer(org.consultant_hcm, full_name="Ngoài Phạm Vi")
    job = services.export_start(actor=org.supervisor_hn, filters=CustomerFilters(), fmt="csv", language="vi")
    raw = services.job_result_path(job).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Mã", "Họ và tên"] and len(rows) == 3  # the HCM customer is out of scope
    names = {r[1] for r in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in names and "Nguyễn Thị Lan" in names
    assert any(r[15] == "'@vip" for r in rows[1:])
    event = AuditEvent.objects.get(action="export")
    assert event.changes["rows"]["after"] == 2 and event.actor == org.supervisor_hn


def test_xlsx_export_then_import_round_trips(org):
    make_customer(
        org.consultant_hn,
        full_name="Nguyễn Thị Lan",
        phones=["0912 345 678", "024 3826 1234"],
        emails=["lan@example.vn"],
        birthday="15/08/1990",
        province="01",
        ward="Ba Đình",
        tags=["IELTS"],
    )
    job = services.export_start(actor=org.admin, filters=CustomerFilters(), fmt="xlsx", language="vi")
    data = services.job_result_path(job).read_bytes()
    Customer.objects.all().delete()
    back = run(org.admin, data, filename="export.xlsx")
    assert back.created == 1, back.errors
    c = Customer.objects.get()
    assert (c.full_name, c.birthday.isoformat(), c.province, c.ward) == (
        "Nguyễn Thị Lan",
        "1990-08-15",
        "01",
        "Phường Ba Đình",
    )
    assert sorted(ContactPoint.objects.values_list("value", flat=True)) == [
        "+842438261234",
        "+84912345678",
        "lan@example.vn",
    ]
    assert [t.name for t in c.tags.all()] == ["IELTS"]


def test_export_needs_the_export_permission(org):
    with pytest.raises(PermissionDenied):
        services.export_start(actor=org.consultant_hn, filters=CustomerFilters(), fmt="csv")


# --- API -------------------------------------------------------------------------------------------


def test_api_import_job_lifecycle(org, django_capture_on_commit_callbacks):
    client = api_client(org.supervisor_hn)
    upload = io.BytesIO(csv_bytes(GOOD))
    upload.name = "khach.csv"
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/v1/imports", {"file": upload, "mode": "create", "entity": "customers"})
    assert r.status_code == 202, r.content
    job_id = r.json()["job_id"]
    body = client.get(f"/api/v1/jobs/{job_id}").json()
    assert (body["status"], body["created"], body["failed"], body["errors"]) == ("succeeded", 3, 0, [])
    assert body["error_report_url"] is None
    # another user cannot see the job
    assert api_client(org.consultant_hn).get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert client.get("/api/v1/jobs/999999").status_code == 404


def test_api_import_with_errors_and_mapping_object(org, django_capture_on_commit_callbacks):
    client = api_client(org.supervisor_hn)
    upload = io.BytesIO(csv_bytes([["Tên", "Số"], ["Lan", "0912345678"], ["Hùng", "123"]]))
    upload.name = "k.csv"
    mapping = json.dumps({"Tên": "full_name", "Số": "phone"})
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/v1/imports", {"file": upload, "mapping": mapping})
    assert r.status_code == 202, r.content
    body = client.get(f"/api/v1/jobs/{r.json()['job_id']}").json()
    assert (
        body["status"] == "failed" and body["errors"][0]["row"] == 3 and body["errors"][0]["column"] == "Số"
    )
    report = client.get(body["error_report_url"])
    assert report.status_code == 200 and report["Content-Disposition"].startswith("attachment")


def test_api_refusals(org):
    upload = io.BytesIO(csv_bytes(GOOD))
    upload.name = "k.csv"
    from django.test import Client

    assert Client().post("/api/v1/imports", {"file": upload}).status_code == 401
    upload.seek(0)
    assert api_client(org.director).post("/api/v1/imports", {"file": upload}).status_code == 403
    bad = io.BytesIO(b"\x00\x01binary")
    bad.name = "x.exe"
    r = api_client(org.admin).post("/api/v1/imports", {"file": bad})
    assert r.status_code == 422 and r.json()["error"]["code"].startswith("file_")


def test_api_preview_writes_nothing(org):
    upload = io.BytesIO(csv_bytes([*GOOD, ["Sai", "1", "", "", ""]]))
    upload.name = "k.csv"
    body = api_client(org.admin).post("/api/v1/imports/preview", {"file": upload}).json()
    assert body["columns"][:2] == ["full_name", "phone"] and body["total"] == 4
    assert body["rows"][0]["full_name"] == "Nguyễn Thị Lan" and body["errors"][0]["row"] == 5
    assert Customer.objects.count() == 0 and Job.objects.count() == 0


def test_api_export_small_answers_the_file(org):
    make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan")
    r = api_client(org.admin).get("/api/v1/customers/export", {"format": "csv", "q": "lan"})
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    assert "Nguyễn Thị Lan" in b"".join(r.streaming_content).decode("utf-8-sig")
    assert api_client(org.consultant_hn).get("/api/v1/customers/export").status_code == 403


# --- web -------------------------------------------------------------------------------------------


def test_web_wizard_upload_map_preview_run(org, django_capture_on_commit_callbacks):
    client = web_client(org.supervisor_hn)
    assert client.get("/imports/new/").status_code == 200
    upload = io.BytesIO(csv_bytes([*GOOD, ["Sai", "1", "", "", ""]]))
    upload.name = "khach.csv"
    r = client.post("/imports/new/", {"file": upload})
    assert r.status_code == 302
    page = client.get(r["Location"])
    html = page.content.decode()
    assert "Nguyễn Thị Lan" in html and 'id="error-count">1<' in html
    job = Job.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/imports/{job.pk}/mapping/",
            {"column": job.options["columns"], "action": "run", "partial": "on", "mode": "create"},
        )
    assert r.status_code == 302
    html = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'id="job-created">3<' in html and 'id="job-failed">1<' in html
    assert client.get(f"/imports/{job.pk}/download/").status_code == 200
    assert web_client(org.consultant_hn).get(f"/imports/{job.pk}/").status_code == 404
    assert client.get("/imports/").status_code == 200


def test_web_export_button(org):
    make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan")
    client = web_client(org.supervisor_hn)
    r = client.post("/imports/export/", {"format": "xlsx", "q": "lan"})
    assert r.status_code == 302 and "/download/" in r["Location"]
    assert client.get(r["Location"]).status_code == 200
    assert web_client(org.consultant_hn).post("/imports/export/", {"format": "xlsx"}).status_code == 403


# --- CLI -------------------------------------------------------------------------------------------


def test_cli_import_and_export(org, tmp_path):
    src = tmp_path / "khach.csv"
    src.write_bytes(csv_bytes(GOOD))
    out = io.StringIO()
    call_command(
        "import_data",
        "customers",
        str(src),
        "--json",
        "--as",
        "supervisor_hn",
        stdout=out,
        stderr=io.StringIO(),
    )
    body = json.loads(out.getvalue())
    assert (body["status"], body["created"]) == ("succeeded", 3)
    target = tmp_path / "out.xlsx"
    out = io.StringIO()
    call_command("export_data", "customers", str(target), "--q", "lan", "--as", "supervisor_hn", stdout=out)
    assert "1 customers written" in out.getvalue()
    rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_index(0).to_python()
    assert rows[1][1] == "Nguyễn Thị Lan"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HEADER, ["X", "1", "", "", ""]]))
    with pytest.raises(SystemExit):
        call_command("import_data", "customers", str(bad), stdout=io.StringIO(), stderr=io.StringIO())


def test_every_import_target_has_a_translated_label():
    from django.utils import translation

    from careline.imports.labels import TARGET_LABELS
    from careline.imports.mapping import TARGETS

    assert set(TARGET_LABELS) == set(TARGETS)
    with translation.override("vi"):
        untranslated = [k for k, label in TARGET_LABELS.items() if str(label) == TARGETS[k] and k != "email"]
    assert untranslated == []


def test_a_stuck_import_can_be_started_again_without_duplicates(org, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    job = services.import_start(
        actor=org.supervisor_hn, data=csv_bytes(GOOD), filename="k.csv"
    )  # queued only
    # the worker took it and died: running, nothing written, no progress for half an hour
    Job.objects.filter(pk=job.pk).update(
        status="running", updated_at=timezone.now() - dt.timedelta(minutes=30)
    )
    client = web_client(org.supervisor_hn)
    assert 'id="job-retry"' in client.get(f"/imports/{job.pk}/").content.decode()
    with pytest.raises(ApplicationError):  # someone else's job: not found
        services.import_retry(actor=org.consultant_hn, job_id=job.pk)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/imports/{job.pk}/retry/")
    assert r.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created) == ("succeeded", 3)
    assert Customer.objects.count() == 3
    with pytest.raises(ApplicationError) as exc:  # a finished job is not restarted
        services.import_retry(actor=org.supervisor_hn, job_id=job.pk)
    assert exc.value.code == "job_not_stuck"


def test_row_errors_are_summarised_in_vietnamese(org):
    job = run(org.supervisor_hn, csv_bytes([*GOOD, ["Phạm Văn Sai", "12345", "", "31/02/1990", "Atlantis"]]))
    html = web_client(org.supervisor_hn).get(f"/imports/{job.pk}/").content.decode()
    assert "Số điện thoại không hợp lệ" in html
    assert "Ngày không hợp lệ (ghi ngày/tháng/năm)" in html
    assert "Không nhận ra tỉnh / thành phố" in html


def test_old_job_files_are_purged(org):
    import datetime as dt

    from django.utils import timezone

    from careline.imports.tasks import purge_old_job_files

    old = run(org.supervisor_hn, csv_bytes([*GOOD, ["Sai", "1", "", "", ""]]))
    recent = run(org.supervisor_hn, csv_bytes([*GOOD[:1], ["Sai", "1", "", "", ""]]))
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - dt.timedelta(days=31))
    assert services.job_result_path(old) is not None
    assert purge_old_job_files.call_local() == 1
    assert services.job_result_path(old) is None
    assert services.job_result_path(recent) is not None
    assert Job.objects.filter(pk=old.pk).exists()  # the record stays
