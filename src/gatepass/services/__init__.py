"""Async use cases: load through stores, decide with the protocol, persist, return values."""
