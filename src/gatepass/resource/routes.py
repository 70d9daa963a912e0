"""The resource server's routes; app.py lists them before the web's, whose /static would hide /static/swagger-ui."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from gatepass.resource import docs, documents
from gatepass.resource.frappe_methods import build_method_routes

#: Frappe serves the same routes under /api and /api/v1, with or without a trailing slash.
_PREFIXES = ("/api/resource", "/api/v1/resource")


def build_resource_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for prefix in _PREFIXES:
        for slash in ("", "/"):
            routes.append(Route(f"{prefix}/{{doctype}}{slash}", documents.collection, methods=["GET", "POST"]))
            routes.append(
                Route(f"{prefix}/{{doctype}}/{{name}}{slash}", documents.resource, methods=["GET", "PUT", "DELETE"])
            )
    return [
        *routes,
        *build_method_routes(),
        Route("/openapi.json", docs.openapi_json, methods=["GET"]),
        Route("/api/docs", docs.docs_page, methods=["GET"]),
        Route(docs.REDIRECT_PATH, docs.oauth2_redirect, methods=["GET"]),
        Mount(docs.SWAGGER_UI_PATH, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui"),
    ]
