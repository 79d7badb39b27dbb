"""A real OpenID Connect provider on loopback for the sign-in tests: panva's `oidc-provider`
(npm) run by node from tests/support/oidc/ (see provider.js there), and a browser stand-in
that walks its development login and consent pages with httpx."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from tests.support.servers import free_port

PROVIDER_DIR = Path(__file__).parent / "oidc"


def ensure_installed() -> str:
    """The node binary, with oidc-provider installed from the lock file (npm ci) if needed."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("the OIDC tests need Node.js >= 20 (apt-get install nodejs npm); ./scripts/setup --test installs the rest")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed once to install tests/support/oidc (npm ci)")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PROVIDER_DIR, check=True, timeout=300
        )
    return node


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    output: list[str]


@contextmanager
def running_oidc_provider(redirect_uri: str, client_secret: str, *, port: int | None = None) -> Iterator[OidcProvider]:
    node = ensure_installed()
    port = port or free_port()
    env = {**os.environ, "PORT": str(port), "REDIRECT_URI": redirect_uri, "CLIENT_SECRET": client_secret, "NODE_ENV": "test"}
    process = subprocess.Popen(
        [node, "provider.js"], cwd=PROVIDER_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            if line.startswith("READY "):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the OIDC provider did not start:\n" + "\n".join(output))
        yield OidcProvider(f"http://127.0.0.1:{port}", "gennai", client_secret, output)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


_FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input([^>]*)>", re.I)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")


def _form(page: str, base: str) -> tuple[str, dict[str, str]]:
    match = _FORM.search(page)
    if match is None:
        raise AssertionError("no form on the provider's page:\n" + page[:2000])
    fields: dict[str, str] = {}
    for raw in _INPUT.findall(match.group(2)):
        attrs = dict(_ATTR.findall(raw))
        if "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return urljoin(base, html.unescape(match.group(1))), fields


def sign_in_at_provider(client: httpx.Client, url: str, stop_at: str, login: str, password: str = "any") -> str:
    """Follow redirects from `url` through the provider's login and consent pages like a
    browser would; return the first URL that starts with `stop_at` (the callback), unvisited."""
    for _ in range(20):
        if url.startswith(stop_at):
            return url
        response = client.get(url)
        while True:
            if response.status_code in (302, 303) and "location" in response.headers:
                url = urljoin(str(response.url), response.headers["location"])
                break
            if response.status_code != 200:
                raise AssertionError(f"provider answered {response.status_code} at {response.url}: {response.text[:1000]}")
            action, fields = _form(response.text, str(response.url))
            if fields.get("prompt") == "login":
                fields.update(login=login, password=password)
            response = client.post(action, data=fields)
    raise AssertionError("too many redirects at the provider")
