"""gRPC methods about team members; mixed into the contacts servicer (one protobuf service)."""

from __future__ import annotations
