"""The conversations service's own settings (CONVERSATIONS_*), declared once and checked at start."""

from __future__ import annotations

from dataclasses import dataclass

from crm_platform.settings import SettingsError, setting


@dataclass(frozen=True)
class ConversationsSettings:
    mail_retry_seconds: float = setting(
        "CONVERSATIONS_MAIL_RETRY_SECONDS",
        30.0,
        doc="how long an email message waits, pending, before the worker hands it to the mailer again",
    )
    panel_tickets_timeout_seconds: float = setting(
        "CONVERSATIONS_PANEL_TICKETS_TIMEOUT_SECONDS",
        1.0,
        doc="how long the side panel waits for the tickets service before answering without tickets",
    )
    # The web chat widget (crm_conversations/widget).
    widget_token_key: str | None = setting(
        "CONVERSATIONS_WIDGET_TOKEN_KEY",
        None,
        doc="secret (32+ characters) signing the chat widget's visitor tokens; required in production",
    )
    widget_token_ttl_seconds: int = setting(
        "CONVERSATIONS_WIDGET_TOKEN_TTL_SECONDS",
        7200,
        doc="how long a visitor token is valid; the widget renews it while the visitor chats",
    )
    widget_visitor_rate_per_minute: int = setting(
        "CONVERSATIONS_WIDGET_VISITOR_RATE_PER_MINUTE", 60, doc="requests a minute one visitor may make (0: off)"
    )
    widget_inbox_rate_per_minute: int = setting(
        "CONVERSATIONS_WIDGET_INBOX_RATE_PER_MINUTE", 3000, doc="requests a minute all visitors of one inbox may make"
    )
    realtime_port: int = setting(
        "CONVERSATIONS_REALTIME_PORT",
        8090,
        doc="the port of the realtime WebSocket server (crm serve conversations realtime, and inside crm run)",
    )
    # Unread notifications (crm_conversations/notifications) and who is connected (crm_conversations/presence).
    unread_notification_delay_seconds: int = setting(
        "CONVERSATIONS_UNREAD_NOTIFICATION_DELAY_SECONDS",
        300,
        doc="how long a contact's message waits unread before its assignee, not connected, is emailed; the default "
        "of every workspace, which an admin may change for theirs (PUT /v1/conversations/notification-settings)",
    )
    presence_heartbeat_seconds: float = setting(
        "CONVERSATIONS_PRESENCE_HEARTBEAT_SECONDS",
        30.0,
        doc="how often each realtime replica refreshes its connected members; a member counts as connected while "
        "a replica's heartbeat is younger than three of these",
    )
    conversation_link: str = setting(
        "CONVERSATIONS_CONVERSATION_LINK",
        "/v1/conversations/{conversation_id}",
        doc="the link to a conversation in notification emails ({conversation_id} is replaced), e.g. "
        "https://crm.example.com/conversations/{conversation_id}",
    )

    def __post_init__(self) -> None:
        if not 0 < self.realtime_port < 65536:
            raise SettingsError(f"CONVERSATIONS_REALTIME_PORT must be a TCP port, got {self.realtime_port}")
        if self.mail_retry_seconds <= 0:
            raise SettingsError("CONVERSATIONS_MAIL_RETRY_SECONDS must be positive")
        if not 0 < self.panel_tickets_timeout_seconds <= 30:
            raise SettingsError("CONVERSATIONS_PANEL_TICKETS_TIMEOUT_SECONDS must be between 0 and 30")
        if not 60 <= self.widget_token_ttl_seconds <= 86400:
            raise SettingsError("CONVERSATIONS_WIDGET_TOKEN_TTL_SECONDS must be between 60 and 86400")
        if not 0 <= self.unread_notification_delay_seconds <= 7 * 86400:
            raise SettingsError("CONVERSATIONS_UNREAD_NOTIFICATION_DELAY_SECONDS must be between 0 and 604800")
        if not 1 <= self.presence_heartbeat_seconds <= 600:
            raise SettingsError("CONVERSATIONS_PRESENCE_HEARTBEAT_SECONDS must be between 1 and 600")
        if "{conversation_id}" not in self.conversation_link:
            raise SettingsError("CONVERSATIONS_CONVERSATION_LINK must contain {conversation_id}")
        if self.widget_visitor_rate_per_minute < 0 or self.widget_inbox_rate_per_minute < 0:
            raise SettingsError("the CONVERSATIONS_WIDGET_*_RATE_PER_MINUTE limits must not be negative")
