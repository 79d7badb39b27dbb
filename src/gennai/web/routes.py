"""Every route of the web interface, mounted by gennai.api.app next to the APIs."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from gennai.web import pages
from gennai.web import app_pages
from gennai.web import arena_pages
from gennai.web.chat_pages import routes as chat_routes
from gennai.web.manage_pages import routes as manage_routes
from gennai.web.static_files import static_mount

routes: list[BaseRoute] = [
    Route("/login", pages.login_page, methods=["GET"]),
    Route("/", pages.home_page, methods=["GET"]),
    *app_pages.routes,
    *manage_routes,
    *chat_routes,
    *arena_pages.routes,
    static_mount,
]
