"""`page()`, the wrapper of every web page: a bug in a page gives the friendly 500 page in
Japanese, logged, never a stack trace or the API's JSON error."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from gennai.web.pages import page


async def _no_session(_request: Request) -> None:
    return None


@page
async def broken_page(_request: Request) -> Response:
    raise RuntimeError("secret detail from a bug")


def test_an_unexpected_error_is_the_friendly_500_page(caplog: pytest.LogCaptureFixture) -> None:
    app = Starlette(routes=[Route("/broken", broken_page)])
    app.state.platform = SimpleNamespace(auth=SimpleNamespace(session_from_request=_no_session))
    with caplog.at_level(logging.ERROR, logger="gennai.web"), TestClient(app, raise_server_exceptions=True) as client:
        response = client.get("/broken", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert 'lang="ja"' in response.text
    assert "secret detail" not in response.text and "Traceback" not in response.text
    assert any("page /broken failed" in r.getMessage() and r.exc_info for r in caplog.records)
