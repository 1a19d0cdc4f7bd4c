"""Inbound mail's pure core: parse raw bytes, classify, extract the reply, thread; no database, no network."""
