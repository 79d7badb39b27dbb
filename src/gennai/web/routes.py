"""Every route of the web interface, mounted by gennai.api.app next to the APIs."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from gennai.web import pages
from gennai.web.static_files import static_mount

routes: list[BaseRoute] = [
    Route("/login", pages.login_page, methods=["GET"]),
    Route("/", pages.home_page, methods=["GET"]),
    static_mount,
]
