"""The naive peer of contact create: Flask + SQLAlchemy ORM, the contact and its email and phone rows added
to a session and committed once. Run under gunicorn like the project (``gunicorn -w 2 --threads 8
orm_create:app``) with PEER_DATABASE_URL and PEER_WORKSPACE_ID (no tokens: the workspace is configured)."""

from __future__ import annotations

import os

from flask import Flask, abort, jsonify, request
from orm_models import Contact, ContactEmail, ContactPhone, engine_from_env
from sqlalchemy.orm import sessionmaker

app = Flask(__name__)
Session = sessionmaker(engine_from_env(), expire_on_commit=False)
WORKSPACE_ID = os.environ["PEER_WORKSPACE_ID"]


@app.post("/contacts")
def create_contact():  # type: ignore[no-untyped-def]
    data = request.get_json(silent=True) or {}
    name = str(data.get("name") or "").strip()
    if not name:
        abort(400)
    email = (data.get("email") or "").strip().lower() or None
    phone = (data.get("phone") or "").strip() or None
    contact = Contact(workspace_id=WORKSPACE_ID, name=name, email=email, phone=phone)
    if email:
        contact.emails.append(ContactEmail(workspace_id=WORKSPACE_ID, address=email, is_primary=True))
    if phone:
        contact.phones.append(ContactPhone(workspace_id=WORKSPACE_ID, number=phone, is_primary=True))
    with Session() as session:
        session.add(contact)
        session.commit()
        return jsonify(contact.to_dict()), 201
