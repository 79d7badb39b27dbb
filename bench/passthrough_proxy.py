"""The floor for one Python hop: a minimal aiohttp pass-through proxy (no auth, no records).

    python bench/passthrough_proxy.py --port 18001 --upstream http://127.0.0.1:18000

Forwards method, path, query, body and end-to-end headers to the upstream over a pooled
keep-alive connection, and streams the answer back chunk by chunk as it arrives. It
parses nothing; anything gennai does beyond this is gennai's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp
from aiohttp import web

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)


def build_app(upstream: str, limit: int) -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)

    async def on_startup(app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=30)
        app["session"] = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )

    async def on_cleanup(app: web.Application) -> None:
        await app["session"].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        session: aiohttp.ClientSession = request.app["session"]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        try:
            async with session.request(
                request.method, upstream + request.path_qs, data=body or None, headers=headers
            ) as answer:
                out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                response = web.StreamResponse(status=answer.status, headers=out_headers)
                if answer.content_length is not None:
                    response.content_length = answer.content_length  # else chunked, as the upstream
                await response.prepare(request)
                # Every piece is passed on as soon as it arrives (SSE events are never held back).
                async for chunk in answer.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response
        except aiohttp.ClientError as exc:
            return web.json_response({"error": {"message": f"upstream: {type(exc).__name__}"}}, status=502)

    app.router.add_route("*", "/{tail:.*}", forward)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18001)
    parser.add_argument("--upstream", default="http://127.0.0.1:18000")
    parser.add_argument("--limit", type=int, default=512, help="upstream connection pool size")
    args = parser.parse_args()
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(f"pass-through proxy on http://{args.host}:{args.port} -> {args.upstream}", file=sys.stderr, flush=True)
    web.run_app(build_app(args.upstream.rstrip("/"), args.limit), host=args.host, port=args.port,
                access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
