"""What the mailer checks of the attachment references a mail request carries, before anything is queued."""

from __future__ import annotations

from crm.platform.v1 import attachments_pb2
from crm_mailer.outbound.attachments import MAX_ATTACHMENTS, as_row, field_errors
from crm_platform.attachments.rules import Limits

LIMITS = Limits(max_bytes=1000, max_total_bytes=1500)
SHA = "ab" * 32


def ref(**fields: object) -> attachments_pb2.AttachmentRef:
    values: dict[str, object] = {"service": "tickets", "attachment_id": "0190a1b2-c3d4", "size": 10, "sha256": SHA}
    return attachments_pb2.AttachmentRef(**(values | fields))  # type: ignore[arg-type]


def codes(*refs: attachments_pb2.AttachmentRef) -> dict[str, str]:
    return {error.field: error.code for error in field_errors(refs, LIMITS)}


def test_well_formed_references_within_the_limits_pass() -> None:
    assert codes(ref(size=1000), ref(size=500)) == {}


def test_each_field_of_a_bad_reference_is_named() -> None:
    assert codes(ref(service="Tickets!", attachment_id="../x", sha256="nope", size=1001)) == {
        "attachments[0].service": "invalid",
        "attachments[0].attachment_id": "invalid",
        "attachments[0].sha256": "invalid",
        "attachments[0].size": "too_large",
    }


def test_references_over_the_total_or_too_many_are_refused() -> None:
    assert codes(ref(size=1000), ref(size=501)) == {"attachments": "too_large"}
    assert codes(*[ref(size=1)] * (MAX_ATTACHMENTS + 1)) == {"attachments": "too_many"}


def test_a_kept_reference_has_a_sanitised_name_and_a_lower_case_digest() -> None:
    row = as_row(ref(filename="../../x\r\n.pdf", sha256=SHA.upper()))

    assert (row["filename"], row["sha256"]) == ("x .pdf", SHA)
