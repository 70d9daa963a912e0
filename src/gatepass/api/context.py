"""What the document API reaches through ``request.app.state.api``: its services, built in app.py."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from gatepass.services.api_keys import ApiKeyService
from gatepass.services.doctypes import DocTypeService
from gatepass.services.documents import DocumentService
from gatepass.services.token import TokenService


@dataclass(frozen=True)
class ApiContext:
    issuer: str
    tokens: TokenService
    api_keys: ApiKeyService
    documents: DocumentService
    doctypes: DocTypeService


def api(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context
