"""Helpers to run real servers on loopback for tests: gennai itself, in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ssl

import uvicorn
from aiohttp import web

from gennai.accounts.keys import create_key, write_key_secret
from gennai.api.app import create_app
from gennai.config import load_config
from gennai.gateway.providers.base import Provider
from gennai.platform import Platform
from gennai.policy.decision import Decision
from gennai.store.database import create_database_engine, migrate

BASE_CONFIG = """
data_dir = "data"
[server]
host = "127.0.0.1"
port = {port}
[database]
url = "{database_url}"
[records]
flush_interval_s = 0.05
[gateway]
retries = {retries}
retry_backoff_s = 0.0
circuit_failure_threshold = {circuit_threshold}
circuit_reset_s = {circuit_reset_s}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GennaiServer:
    base_url: str  # e.g. http://127.0.0.1:PORT/v1
    root_url: str  # e.g. http://127.0.0.1:PORT
    api_key: str
    config_path: Path
    platform: Platform


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # running in a thread
        pass


@contextmanager
def running_gennai(
    tmp_path: Path,
    models_toml: str,
    *,
    database_url: str | None = None,
    retries: int = 1,
    circuit_threshold: int = 5,
    circuit_reset_s: float = 30.0,
    extra_toml: str = "",
) -> Iterator[GennaiServer]:
    """Start a real gennai (uvicorn, loopback) with the given [[models]] tables."""
    port = free_port()
    database_url = database_url or f"sqlite:///{tmp_path / 'gennai.db'}"
    config_path = tmp_path / "gennai.toml"
    config_path.write_text(
        BASE_CONFIG.format(
            port=port,
            database_url=database_url,
            retries=retries,
            circuit_threshold=circuit_threshold,
            circuit_reset_s=circuit_reset_s,
        )
        + extra_toml
        + "\n"
        + models_toml,
        encoding="utf-8",
    )
    loaded = load_config(config_path, environ={})
    secret_file = loaded.resolve(loaded.config.security.key_secret_file or "data/secret.key")
    if not secret_file.exists():
        write_key_secret(secret_file)
    engine = create_database_engine(loaded.database_url)
    migrate(engine)
    key = create_key(engine, secret_file.read_bytes().strip(), name="test", admin=True).key
    engine.dispose()
    platform = Platform.build(loaded)
    server = _ThreadedServer(
        uvicorn.Config(
            create_app(platform), host="127.0.0.1", port=port, loop="asyncio", log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("gennai failed to start")
        if time.monotonic() > deadline:
            raise RuntimeError("gennai did not start within 60 s")
        time.sleep(0.02)
    try:
        yield GennaiServer(f"http://127.0.0.1:{port}/v1", f"http://127.0.0.1:{port}", key, config_path, platform)
    finally:
        server.should_exit = True
        thread.join(30)


async def serve_aiohttp(
    app: web.Application, port: int, *, ssl_context: ssl.SSLContext | None = None, **runner_options: object
) -> web.AppRunner:
    """Serve an aiohttp app on 127.0.0.1:port (for the scripted upstreams); returns its runner."""
    runner = web.AppRunner(app, access_log=None, **runner_options)  # type: ignore[arg-type]
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start()
    return runner


@contextmanager
def running_asyncio_server(start: "callable", *args: object) -> Iterator[int]:  # type: ignore[valid-type]
    """Run `await start(port, *args)` (which must return an object with `async close()`) on
    its own event loop in a thread; yield the port."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def main() -> None:
            holder["server"] = await start(port, *args)
            ready.set()

        loop.run_until_complete(main())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("loopback server did not start")
    try:
        yield port
    finally:
        server = holder["server"]
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)  # type: ignore[attr-defined]
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def admit(provider: Provider, effective_class: int = 1) -> Decision:
    """The policy's admission for calling one provider directly in a test."""
    return Decision(effective_class=effective_class, candidates=[provider.model.id])
