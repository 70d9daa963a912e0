"""OAuth clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from gatepass.db.base import StoreBase, conflict_from, single_statement
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import OAuthClient
from gatepass.protocol.values import ClientInfo
from gatepass.services.stores import ClientRecord, NotFound

_clients: Table = OAuthClient.__table__  # type: ignore[assignment]
# Built once: every token, introspection and revocation request authenticates a client.
_CLIENT_BY_ID = select(_clients).where(_clients.c.client_id == bindparam("client_id"))
_CLIENT_BY_ID_ON_DRIVER = DriverStatement(_CLIENT_BY_ID, "client by id")


def _client_record(rows: list[Any]) -> ClientRecord | None:
    return ClientRecord(_info(rows[0]), rows[0].secret_encrypted, rows[0].created_at) if rows else None


def _info(row: Any) -> ClientInfo:
    """From an ORM row or a Core row: their attribute names are the column names."""
    return ClientInfo(
        client_id=row.client_id,
        app_name=row.app_name,
        client_type=row.client_type,
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        secret_digest=row.secret_digest,
        redirect_uris=tuple(row.redirect_uris),
        default_redirect_uri=row.default_redirect_uri,
        scopes=tuple(row.scopes),
        grant_types=tuple(row.grant_types),
        response_types=tuple(row.response_types),
        allowed_roles=tuple(row.allowed_roles),
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
        is_enabled=row.is_enabled,
        skip_authorization=row.skip_authorization,
        require_pkce=row.require_pkce,
        allow_plain_pkce=row.allow_plain_pkce,
        id_token_signed_response_alg=row.id_token_signed_response_alg,
        access_token_ttl_seconds=row.access_token_ttl_seconds,
        refresh_token_ttl_seconds=row.refresh_token_ttl_seconds,
        service_user_id=row.service_user_id,
        client_uri=row.client_uri,
        logo_uri=row.logo_uri,
        is_frappe_legacy=row.is_frappe_legacy,
        is_dynamically_registered=row.is_dynamically_registered,
        registration_token_digest=row.registration_access_token_digest,
        contacts=tuple(row.contacts or ()),
        allowed_origins=tuple(row.allowed_origins or ()),
        is_resource_server=row.is_resource_server,
        has_completed_authorization=row.has_completed_authorization,
        require_pushed_authorization_requests=row.require_pushed_authorization_requests,
        subject_type=row.subject_type,
        sector_identifier_uri=row.sector_identifier_uri,
        pairwise_sector=row.pairwise_sector,
        jwks=row.jwks,
        jwks_uri=row.jwks_uri,
        token_endpoint_auth_signing_alg=row.token_endpoint_auth_signing_alg,
        backchannel_logout_uri=row.backchannel_logout_uri,
        backchannel_logout_session_required=row.backchannel_logout_session_required,
        dpop_bound_access_tokens=row.dpop_bound_access_tokens,
        access_token_format=row.access_token_format,
        require_signed_request_object=row.require_signed_request_object,
        request_object_signing_alg=row.request_object_signing_alg,
        security_profile=row.security_profile,
    )


def _columns(info: ClientInfo, secret_encrypted: str | None) -> dict[str, Any]:
    """Every column an admin or the client itself may change; has_completed_authorization is only ever set."""
    return {
        "client_id": info.client_id,
        "app_name": info.app_name,
        "client_type": info.client_type,
        "token_endpoint_auth_method": info.token_endpoint_auth_method,
        "secret_digest": info.secret_digest,
        "secret_encrypted": secret_encrypted,
        "skip_authorization": info.skip_authorization,
        "scopes": list(info.scopes),
        "redirect_uris": list(info.redirect_uris),
        "default_redirect_uri": info.default_redirect_uri,
        "post_logout_redirect_uris": list(info.post_logout_redirect_uris),
        "grant_types": list(info.grant_types),
        "response_types": list(info.response_types),
        "allowed_roles": list(info.allowed_roles),
        "is_enabled": info.is_enabled,
        "require_pkce": info.require_pkce,
        "allow_plain_pkce": info.allow_plain_pkce,
        "is_frappe_legacy": info.is_frappe_legacy,
        "is_dynamically_registered": info.is_dynamically_registered,
        "registration_access_token_digest": info.registration_token_digest,
        "contacts": list(info.contacts),
        "allowed_origins": list(info.allowed_origins),
        "is_resource_server": info.is_resource_server,
        "require_pushed_authorization_requests": info.require_pushed_authorization_requests,
        "subject_type": info.subject_type,
        "sector_identifier_uri": info.sector_identifier_uri,
        "pairwise_sector": info.pairwise_sector,
        "id_token_signed_response_alg": info.id_token_signed_response_alg,
        "access_token_ttl_seconds": info.access_token_ttl_seconds,
        "refresh_token_ttl_seconds": info.refresh_token_ttl_seconds,
        "service_user_id": info.service_user_id,
        "client_uri": info.client_uri,
        "logo_uri": info.logo_uri,
        "jwks": info.jwks,
        "jwks_uri": info.jwks_uri,
        "token_endpoint_auth_signing_alg": info.token_endpoint_auth_signing_alg,
        "backchannel_logout_uri": info.backchannel_logout_uri,
        "backchannel_logout_session_required": info.backchannel_logout_session_required,
        "dpop_bound_access_tokens": info.dpop_bound_access_tokens,
        "access_token_format": info.access_token_format,
        "require_signed_request_object": info.require_signed_request_object,
        "request_object_signing_alg": info.request_object_signing_alg,
        "security_profile": info.security_profile,
    }


class SqlClientStore(StoreBase):
    async def get_client(self, client_id: str) -> ClientRecord | None:
        return await self._cache.get(("client", client_id), lambda: self._load_client(client_id))

    async def _load_client(self, client_id: str) -> ClientRecord | None:
        return await self._read_as(_CLIENT_BY_ID_ON_DRIVER, {"client_id": client_id}, _client_record)

    async def list_clients(self) -> list[ClientRecord]:
        async with self._sessions() as session:
            rows = (await session.execute(select(OAuthClient).order_by(OAuthClient.app_name))).scalars()
            return [ClientRecord(_info(row), row.secret_encrypted, row.created_at) for row in rows]

    async def add_client(self, info: ClientInfo, secret_encrypted: str | None, now: datetime) -> None:
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(OAuthClient(**_columns(info, secret_encrypted), created_at=now, updated_at=now))
            except IntegrityError as exc:
                raise conflict_from(exc, f"A client with client_id {info.client_id}") from None

    async def update_client(self, info: ClientInfo, secret_encrypted: str | None, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(OAuthClient).where(OAuthClient.client_id == info.client_id).with_for_update()
                )
            ).scalar_one_or_none()
            if row is None:
                raise NotFound(f"client {info.client_id}")
            for key, value in _columns(info, secret_encrypted).items():
                setattr(row, key, value)
            row.updated_at = now

    async def delete_client(self, client_id: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(OAuthClient).where(OAuthClient.client_id == client_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_completed_authorization(self, client_id: str) -> bool:
        # The flag only ever goes from false to true: the condition makes a repeat a no-op that writes nothing.
        statement = (
            update(_clients)
            .where(_clients.c.client_id == client_id, _clients.c.has_completed_authorization.is_(False))
            .values(has_completed_authorization=True)
        )
        async with single_statement(self._engine) as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    async def forget_completed_authorization(self, client_id: str) -> None:
        """A self-registered client that adds a redirect URI has proven none of the new ones."""
        statement = update(_clients).where(_clients.c.client_id == client_id).values(has_completed_authorization=False)
        async with single_statement(self._engine) as connection:
            await connection.execute(statement)
