from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import running_asyncio_server

pytest_plugins = ["tests.support.browser"]  # browser, page, live_gennai, live_page


@pytest.fixture(scope="session")
def openai_upstream() -> Iterator[tuple[OpenAIUpstream, str]]:
    """A scripted OpenAI-compatible server on loopback: (server, base_url)."""
    upstream = OpenAIUpstream()
    with running_asyncio_server(upstream.start) as port:
        yield upstream, f"http://127.0.0.1:{port}/v1"
