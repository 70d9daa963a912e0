"""Starlette's router with an index: the same answer for every request, without trying every route.

Starlette tries the routes in order and takes the first full match, a partial one (wrong method)
answering 405. With a hundred routes that scan was a third of the CPU of a userinfo request. Every
path without parameters is indexed here with the routes that could match it, in their original
order, so the same rules pick the same route from a short list; other paths scan as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, Router
from starlette.types import Receive, Scope, Send


def route_path(scope: Scope) -> str:
    """The path the routes match: the request path below the app's mount point (ASGI ``root_path``)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    return path[len(root_path) :] if path[len(root_path)] == "/" else path


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **options: object) -> None:
        super().__init__(list(routes), **options)  # type: ignore[arg-type]
        self._by_path = self._index(self.routes)

    @staticmethod
    def _index(routes: Sequence[BaseRoute]) -> dict[str, tuple[BaseRoute, ...]]:
        if not all(hasattr(route, "path_regex") for route in routes):
            return {}  # a route we cannot reason about: keep Starlette's scan for everything
        static_paths = {route.path for route in routes if "{" not in getattr(route, "path", "{")}  # type: ignore[attr-defined]
        return {
            path: tuple(route for route in routes if route.path_regex.match(path))  # type: ignore[attr-defined]
            for path in static_paths
        }

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        candidates = self._by_path.get(route_path(scope)) if scope["type"] == "http" else None
        if not candidates:
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial = None
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is None:
            await super().app(scope, receive, send)
            return
        scope["route"] = partial
        scope.update(partial_scope)
        await partial.handle(scope, receive, send)


class IndexedStarlette(Starlette):
    """A Starlette app whose router is an IndexedRouter from the start.

    Starlette builds a plain Router in its constructor and its middleware stack only on the first
    request, so the router is settled here, in the constructor, before anything can have used it.
    """

    def __init__(self, *, routes: Sequence[BaseRoute], lifespan: Any, **options: Any) -> None:
        super().__init__(routes=routes, lifespan=lifespan, **options)
        self.router = IndexedRouter(routes, lifespan=lifespan)
