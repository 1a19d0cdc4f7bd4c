"""The parser keeps each attachment's decoded bytes, for the store: a file as sent, a forwarded message whole."""

from __future__ import annotations

from email.message import EmailMessage

from crm_mailer.inbound import parse


def test_an_attachments_bytes_are_kept_decoded_and_a_forwarded_message_whole() -> None:
    forwarded = EmailMessage()
    forwarded["Subject"] = "Pedido original"
    forwarded.set_content("El pedido 42.")
    mail = EmailMessage()
    mail["From"] = "pedro@example.com"
    mail["Subject"] = "Fwd: Pedido"
    mail.set_content("Mira esto.")
    mail.add_attachment(b"\x00\x01binary\xff", "application", "octet-stream", filename="data.bin")
    mail.add_attachment(forwarded)

    message = parse.parse(mail.as_bytes())

    data, eml = message.attachments
    assert (data.filename, data.data, data.size) == ("data.bin", b"\x00\x01binary\xff", 9)
    assert eml.content_type == "message/rfc822"
    assert b"Subject: Pedido original" in eml.data and b"El pedido 42." in eml.data
    assert eml.size == len(eml.data)
