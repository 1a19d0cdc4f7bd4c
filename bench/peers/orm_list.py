"""The naive peer of the contact list: Flask + one SQLAlchemy ORM query (newest first, optional status
filter, a limit) with ``selectinload`` of emails and phones, each contact as a dict. Run under gunicorn like
the project (``gunicorn -w 2 --threads 8 orm_list:app``) with PEER_DATABASE_URL and PEER_WORKSPACE_ID."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from orm_models import Contact, engine_from_env
from sqlalchemy import select
from sqlalchemy.orm import selectinload, sessionmaker

app = Flask(__name__)
Session = sessionmaker(engine_from_env())
WORKSPACE_ID = os.environ["PEER_WORKSPACE_ID"]


@app.get("/contacts")
def list_contacts():  # type: ignore[no-untyped-def]
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    query = (
        select(Contact)
        .where(Contact.workspace_id == WORKSPACE_ID, Contact.deleted_at.is_(None))
        .options(selectinload(Contact.emails), selectinload(Contact.phones))
        .order_by(Contact.created_at.desc(), Contact.id.desc())
        .limit(limit)
    )
    status = request.args.get("status")
    if status:
        query = query.where(Contact.status == status)
    with Session() as session:
        contacts = session.scalars(query).all()
        return jsonify({"items": [contact.to_dict() for contact in contacts]})
