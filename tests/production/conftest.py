"""Fixtures of the production tests: private PostgreSQL and Redis servers (see private_servers.py)."""

from private_servers import private_postgres, private_redis

__all__ = ["private_postgres", "private_redis"]
