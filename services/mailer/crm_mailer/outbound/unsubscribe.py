"""One-click unsubscribe (RFC 8058): the recipient's mail client POSTs to the link of List-Unsubscribe with no
login; the signed token in the path names the workspace and the message, hence the address. The first POST
records it and publishes ``mailer.recipient.unsubscribed`` (contacts then marks the address inactive,
``unsubscribed``); a repeated one answers the same and publishes nothing more."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.events.v1 import mailer_pb2
from crm_events.mailer import RECIPIENT_UNSUBSCRIBED
from crm_mailer.outbound import tokens
from crm_mailer.outbound.models import OutboundMessage, Unsubscribe
from crm_platform.db import UnitOfWork
from crm_platform.errors import NotFound, phrase


def unsubscribe(uow: UnitOfWork, key: tokens.TokenKey, token: str) -> bool:
    """Unsubscribe the recipient of the message the token names; True the first time. A token we did not sign
    for unsubscribing, or one naming no message of its workspace, is not found (no hint which)."""
    claims = tokens.verify(key, tokens.UNSUBSCRIBE, token)
    if claims is None:
        raise NotFound(phrase("no such unsubscribe link"))
    try:
        return _record(uow, claims)
    except IntegrityError:  # the same link posted twice at once: the other request recorded it
        return False


def _record(uow: UnitOfWork, claims: tokens.Claims) -> bool:
    with uow:
        message = uow.session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.id == claims.subject_id, OutboundMessage.workspace_id == claims.workspace_id
            )
        ).first()
        if message is None or not message.recipient:
            raise NotFound(phrase("no such unsubscribe link"))
        if uow.session.get(Unsubscribe, message.id) is not None:
            return False
        uow.session.add(
            Unsubscribe(message_id=message.id, workspace_id=message.workspace_id, recipient=message.recipient)
        )
        uow.emit(
            RECIPIENT_UNSUBSCRIBED,
            mailer_pb2.RecipientUnsubscribed(recipient=message.recipient, contact_id=message.contact_id or ""),
            workspace_id=message.workspace_id,
        )
        uow.commit()
        return True
