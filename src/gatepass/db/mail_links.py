"""Links sent by mail (password reset, email verification): digests only, each used at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, insert, select, update

from gatepass.db.base import StoreBase, single_statement
from gatepass.db.tables import MailLink
from gatepass.services.stores import MailLinkRecord

_links: Table = MailLink.__table__  # type: ignore[assignment]


class SqlMailLinkStore(StoreBase):
    async def add_link(
        self, link_digest: str, user_id: int, purpose: str, email: str, now: datetime, expires_at: datetime
    ) -> None:
        values = {
            "link_digest": link_digest, "user_id": user_id, "purpose": purpose, "email": email,
            "created_at": now, "expires_at": expires_at, "used_at": None,
        }  # fmt: skip
        async with single_statement(self._engine) as connection:
            await connection.execute(insert(_links).values(values))

    async def get_link(self, link_digest: str) -> MailLinkRecord | None:
        async with single_statement(self._engine) as connection:
            row = (await connection.execute(select(_links).where(_links.c.link_digest == link_digest))).one_or_none()
        if row is None:
            return None
        return MailLinkRecord(row.id, row.user_id, row.purpose, row.email, row.expires_at, row.used_at)

    async def use_link(self, link_id: int, now: datetime) -> bool:
        """Whether this caller used it: one conditional update decides between two clicks at once."""
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                update(_links)
                .where(_links.c.id == link_id, _links.c.used_at.is_(None), _links.c.expires_at > now)
                .values(used_at=now)
            )
            return bool(result.rowcount)

    async def use_links_of(self, user_id: int, purpose: str, now: datetime) -> int:
        """Every unused link of this purpose stops working (a new password makes older reset links moot)."""
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                update(_links)
                .where(_links.c.user_id == user_id, _links.c.purpose == purpose, _links.c.used_at.is_(None))
                .values(used_at=now)
            )
            return int(result.rowcount)

    async def purge_expired(self, now: datetime) -> int:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(delete(_links).where(_links.c.expires_at <= now))
            return int(result.rowcount)
