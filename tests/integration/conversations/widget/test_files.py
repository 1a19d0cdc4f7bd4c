"""Files a visitor sends: kept under a message of the chat, downloaded by the visitor and by members; executables
refused by their content, and files over the limit refused."""

from __future__ import annotations

import io

from tests.factories import widget
from tests.support.stack import ContactsPeer, RunningService, problem_fields

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _send(api: RunningService, inbox_id: str, token: str, data: bytes, filename: str, content_type: str):  # type: ignore[no-untyped-def]
    return api.client.post(
        f"/v1/conversations/widget/{inbox_id}/attachments",
        data={"file": (io.BytesIO(data), filename, content_type)},
        content_type="multipart/form-data",
        headers=widget.visitor(token),
    )


def test_a_visitors_file_is_a_message_of_the_chat_that_members_and_the_visitor_download(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex = contacts_peer_service.workspace(), contacts_peer_service.workspace(name="Globex")
    inbox = widget.inbox(widget_api, acme)
    started = widget.start(widget_api, inbox["id"]).get_json()

    sent = _send(widget_api, inbox["id"], started["token"], PNG, "receipt.png", "image/png")
    [file] = sent.get_json()["attachments"]
    member_url = f"/v1/conversations/{started['conversation_id']}/attachments/{file['id']}"
    by_member = widget_api.client.get(member_url, headers=widget_api.auth(acme, role="agent"))
    by_visitor = widget_api.client.get(
        f"/v1/conversations/widget/{inbox['id']}/attachments/{file['id']}", headers=widget.visitor(started["token"])
    )
    other_visitor = widget.start(widget_api, inbox["id"]).get_json()["token"]

    assert sent.status_code == 201 and sent.get_json()["text"] == "\N{PAPERCLIP} receipt.png"
    assert (file["filename"], file["content_type"], file["size"]) == ("receipt.png", "image/png", len(PNG))
    assert by_member.status_code == 200 and by_member.data == PNG
    assert "attachment" in by_member.headers["Content-Disposition"]
    assert by_visitor.status_code == 200 and by_visitor.data == PNG
    assert widget.history(widget_api, inbox["id"], started["token"])[0]["attachments"] == [file]
    assert widget_api.client.get(member_url, headers=widget_api.auth(globex)).status_code == 404
    assert (
        widget_api.client.get(
            f"/v1/conversations/widget/{inbox['id']}/attachments/{file['id']}", headers=widget.visitor(other_visitor)
        ).status_code
        == 404
    )


def test_executables_are_refused_by_their_content_and_large_files_by_their_size(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    inbox = widget.inbox(widget_api, acme)
    token = widget.start(widget_api, inbox["id"]).get_json()["token"]

    disguised = _send(widget_api, inbox["id"], token, b"MZ\x90\x00" + b"\0" * 60, "invoice.pdf", "application/pdf")
    script = _send(widget_api, inbox["id"], token, b"#!/bin/sh\nrm -rf /\n", "notes.txt", "text/plain")
    large = _send(widget_api, inbox["id"], token, PNG + b"\0" * 5000, "big.png", "image/png")  # the limit: 4096

    assert disguised.status_code == 422 and problem_fields(disguised.get_json()) == {"file": "executable"}
    assert script.status_code == 422
    assert large.status_code == 413
    assert widget.history(widget_api, inbox["id"], token) == []
