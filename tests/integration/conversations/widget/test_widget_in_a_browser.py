"""The widget in a real headless Chromium: a test page on one loopback server embeds the snippet, the
conversations service answers on another (a werkzeug thread), the contacts service over gRPC. A visitor opens
the chat and writes, an agent answers through the HTTP API, and the page shows the answer live with the member's
name, again after a reload; a site that vouches for its user ties the chat to the contact, a forged hash and an
anonymous visitor of a strict inbox get no chat. Screenshots are kept in ``var/test-artifacts/``."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from crm_conversations.realtime.server import Embedded
from crm_platform import migrations
from crm_platform.auth import mint_for
from crm_platform.service import Runtime, bootstrap
from crm_platform.settings import load
from crm_platform.web import create_app
from tests.factories import conversations, widget
from tests.support.devtools import ARTIFACTS, Browser, Page, chromium
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, service_env

PANEL = "document.querySelector('#crm-chat').shadowRoot"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


@dataclass
class Site:
    """The customer's site: pages by path, served on loopback."""

    pages: dict[str, str] = field(default_factory=dict)
    origin: str = ""


@dataclass
class Stack:
    rt: Runtime
    api: str  # the conversations service's base URL
    site: Site
    realtime: Embedded  # the realtime stream the widget's socket connects to (CONVERSATIONS_REALTIME_PORT)

    def visitors_connected(self, conversation_id: str) -> int:
        return len(self.realtime.server.hub.visitors.get(conversation_id, ()))

    def call(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        request = urllib.request.Request(
            self.api + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={**headers, "Content-Type": "application/json", "Accept-Language": "en"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def auth(self, workspace_id: str, *, user_id: str = "admin-1", role: str = "admin") -> dict[str, str]:
        token = mint_for(self.rt.settings, workspace_id=workspace_id, user_id=user_id, role=role)
        return {"Authorization": f"Bearer {token}"}

    def page_with(self, path: str, workspace_id: str, inbox_id: str, *, identity: dict[str, str] | None = None) -> str:
        """A page of the site embedding the inbox's snippet (as the admin API gives it), and the identity."""
        snippet = self.call("GET", f"/v1/conversations/inboxes/{inbox_id}/snippet", self.auth(workspace_id))["html"]
        vouched = f"<script>window.CrmChat = {json.dumps(identity)};</script>" if identity else ""
        self.site.pages[path] = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Shop</title></head>"
            f"<body><h1>Our shop</h1><p>Welcome.</p>{vouched}{snippet}</body></html>"
        )
        return self.site.origin + path


def _serve_site(site: Site) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = site.pages.get(self.path)
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((page or "not found").encode())

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.origin = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def stack(tmp_path: Path, contacts_peer_service: ContactsPeer) -> Iterator[Stack]:
    from crm_conversations.app import SERVICE

    url = f"sqlite:///{tmp_path}/conversations.db"
    migrations.upgrade(SERVICE, url)
    port = free_port()
    rt = bootstrap(
        SERVICE,
        load(
            "conversations",
            service_env(
                "conversations",
                url,
                tmp_path,
                CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
                CONVERSATIONS_REALTIME_PORT=str(port),
            ),
        ),
    )
    realtime = Embedded(rt, port=port)
    server = make_server("127.0.0.1", 0, create_app(rt), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = Site()
    pages = _serve_site(site)
    try:
        yield Stack(rt=rt, api=f"http://127.0.0.1:{server.server_port}", site=site, realtime=realtime)
    finally:
        pages.shutdown()
        server.shutdown()
        realtime.stop()
        rt.close()


def _inbox(stack: Stack, workspace_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Shop support",
        "allowed_origins": [stack.site.origin],
        "welcome_text": "Hi! Ask us anything.",
        **fields,
    }
    return stack.call("POST", "/v1/conversations/inboxes", stack.auth(workspace_id), body)


def _open(page: Page, url: str) -> None:
    """Load a page of the site and wait for the widget to draw itself."""
    page.goto(url)
    page.wait_for(f"!!(document.querySelector('#crm-chat') && {PANEL}.querySelector('[data-crm=launcher]'))")


def _bubbles(page: Page) -> list[dict[str, str]]:
    return page.evaluate(
        f"Array.from({PANEL}.querySelectorAll('[data-crm=message]')).map(m => ({{"
        " direction: m.dataset.direction,"
        " author: (m.querySelector('[data-crm=author]') || {}).textContent || null,"
        " text: (m.querySelector('[data-crm=text]') || {}).textContent || null,"
        " files: Array.from(m.querySelectorAll('[data-crm=attachment]')).map(a => a.textContent) }))"
    )


def _write(page: Page, text: str) -> None:
    page.click(f"{PANEL}.querySelector('[data-crm=launcher]')")
    page.type(f"{PANEL}.querySelector('textarea')", text)
    page.press_enter()


def _conversations(stack: Stack, workspace_id: str) -> list[dict[str, Any]]:
    return stack.call("GET", "/v1/conversations?view=all", stack.auth(workspace_id))["items"]


def _messages(stack: Stack, workspace_id: str, conversation_id: str) -> list[dict[str, Any]]:
    return stack.call("GET", f"/v1/conversations/{conversation_id}/messages", stack.auth(workspace_id))["items"]


def _wait_for_conversation(stack: Stack, page: Page, workspace_id: str) -> dict[str, Any]:
    page.wait_for(f"{PANEL}.querySelectorAll('[data-crm=message]').length > 0", what="the visitor's message")
    [conversation] = _conversations(stack, workspace_id)
    return conversation


def test_a_visitor_writes_an_agent_answers_and_the_page_shows_it_live_and_after_a_reload(
    browser: Browser, stack: Stack, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    inbox = _inbox(stack, acme, primary_colour="#0a7d3b")
    url = stack.page_with("/", acme, inbox["id"])

    with browser.page() as page:
        _open(page, url)
        _write(page, "Where is my order 1042?")
        conversation = _wait_for_conversation(stack, page, acme)
        deadline = time.monotonic() + 10
        while not stack.visitors_connected(conversation["id"]):  # the widget's socket, on the realtime stream
            assert time.monotonic() < deadline, "the widget never connected to the realtime stream"
            time.sleep(0.05)
        agent = stack.auth(acme, user_id=luis, role="agent")
        stack.call("POST", f"/v1/conversations/{conversation['id']}/messages", agent, {"body": "It ships today!"})
        page.wait_for(
            f"{PANEL}.querySelectorAll('[data-crm=message][data-direction=outbound]').length === 1",
            what="the agent's answer on the visitor's page",
        )
        receipt = tmp_path / "receipt.png"
        receipt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        page.choose_files(f"{PANEL}.querySelector('input[type=file]')", [receipt])
        page.wait_for(f"{PANEL}.querySelectorAll('[data-crm=attachment]').length === 1", what="the file sent")
        page.screenshot(ARTIFACTS / "widget-conversation.png")
        seen_live = _bubbles(page)

        _open(page, url)  # a reload: the token kept in the browser brings the chat back
        page.click(f"{PANEL}.querySelector('[data-crm=launcher]')")
        page.wait_for(f"{PANEL}.querySelectorAll('[data-crm=message]').length === 3", what="the chat after a reload")
        after_reload = _bubbles(page)

    assert seen_live == [
        {"direction": "inbound", "author": None, "text": "Where is my order 1042?", "files": []},
        {"direction": "outbound", "author": "Luis Gil", "text": "It ships today!", "files": []},
        {"direction": "inbound", "author": None, "text": None, "files": ["receipt.png"]},
    ]
    assert after_reload == seen_live
    assert (conversation["channel"], conversation["message_count"]) == ("web_chat", 1)
    [received] = [m for m in _messages(stack, acme, conversation["id"]) if m["text"].endswith("receipt.png")]
    assert (received["direction"], received["channel"]) == ("inbound", "web_chat")
    assert len(_conversations(stack, acme)) == 1  # the reload did not start another chat
    assert (ARTIFACTS / "widget-conversation.png").stat().st_size > 1000


def test_a_spanish_speaking_visitor_sees_the_widget_in_spanish(
    browser: Browser, stack: Stack, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    inbox = _inbox(stack, acme)
    url = stack.page_with("/", acme, inbox["id"])

    with browser.page() as page:
        agent = page.send("Browser.getVersion")["userAgent"]
        page.send("Network.setUserAgentOverride", userAgent=agent, acceptLanguage="es-ES,es")  # the browser's language
        _open(page, url)
        page.click(f"{PANEL}.querySelector('[data-crm=launcher]')")
        page.screenshot(ARTIFACTS / "widget-spanish.png")
        shown = page.evaluate(
            f"({{send: {PANEL}.querySelector('[data-crm=send]').textContent,"
            f" placeholder: {PANEL}.querySelector('textarea').placeholder,"
            f" lang: document.querySelector('#crm-chat').lang}})"
        )

    assert shown == {"send": "Enviar", "placeholder": "Escribe un mensaje", "lang": "es"}


def test_a_vouched_for_user_chats_as_its_contact_and_a_forged_hash_or_an_anonymous_visitor_does_not(
    browser: Browser, stack: Stack, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, name="Ana López", email="ana@example.com")
    inbox = _inbox(stack, acme, strict=True, offline_message="Please sign in to chat with us.")
    identity = {"user_id": "u-7", "email": "ana@example.com", "name": "Ana López"}
    vouched = stack.page_with(
        "/account", acme, inbox["id"], identity={**identity, "user_hash": widget.signed(inbox["secret"], "u-7")}
    )
    forged = stack.page_with(
        "/forged", acme, inbox["id"], identity={**identity, "user_hash": widget.signed("guessed", "u-7")}
    )
    anonymous = stack.page_with("/anonymous", acme, inbox["id"])

    with browser.page() as page:
        _open(page, vouched)
        _write(page, "Can I change my address?")
        conversation = _wait_for_conversation(stack, page, acme)
        page.screenshot(ARTIFACTS / "widget-identified.png")
        page.evaluate("localStorage.clear()")

        _open(page, forged)
        _write(page, "I am Ana, honestly")
        page.wait_for(f"{PANEL}.querySelector('[data-crm=offline]').classList.contains('on')", what="the refusal")
        forged_bubbles = _bubbles(page)

        _open(page, anonymous)
        page.click(f"{PANEL}.querySelector('[data-crm=launcher]')")
        page.screenshot(ARTIFACTS / "widget-strict.png")
        anonymous_state = page.evaluate(
            f"({{composer: {PANEL}.querySelector('[data-crm=composer]').style.display,"
            f" notice: {PANEL}.querySelector('[data-crm=offline]').textContent}})"
        )

    assert conversation["contact_id"] == ana
    assert conversation["contact"]["email"] == "ana@example.com"
    assert forged_bubbles == []
    assert anonymous_state == {"composer": "none", "notice": "Please sign in to chat with us."}
    assert len(_conversations(stack, acme)) == 1
