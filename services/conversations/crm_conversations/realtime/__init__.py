"""The realtime stream: conversations' events pushed over WebSocket to agents and widget visitors."""
