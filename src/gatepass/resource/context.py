"""What the resource server needs from the application, each part found in one place on the application context.

The resource server verifies tokens; it never issues them. It sees the authorization server's access-token
verifier only through TokenVerifier, so the two can change apart, and a renamed part of the
application context is a one-line change here.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request

from gatepass.context import context_of
from gatepass.protocol.values import Principal
from gatepass.services.doctypes import DocTypeService
from gatepass.services.documents import DocumentService


class TokenVerifier(Protocol):
    async def authenticate_bearer(self, token: str) -> Principal:
        """Who an access token acts for here; raises InvalidToken when it is unknown, expired, revoked or not ours."""
        ...


class ApiKeyVerifier(Protocol):
    async def authenticate(self, api_key: str, api_secret: str) -> Principal:
        """Who a Frappe API key pair acts for; raises InvalidToken when the pair does not match an enabled user."""
        ...


def token_verifier(request: Request) -> TokenVerifier:
    return context_of(request).access_tokens


def api_key_verifier(request: Request) -> ApiKeyVerifier:
    return context_of(request).api_keys


def document_service(request: Request) -> DocumentService:
    return context_of(request).documents


def doctype_service(request: Request) -> DocTypeService:
    return context_of(request).doctypes


def issuer_of(request: Request) -> str:
    """The realm of every challenge and the base of the resource's metadata URL."""
    return context_of(request).issuer
