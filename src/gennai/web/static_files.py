"""The web interface's static files: `/static/...`, cache-busted by content hash.

Templates link assets with `static_url("css/gennai.css")` (gennai.web.templating), which
appends `?v=<hash of the file's content>`. A request whose `v` matches the file served is
cached for a year as immutable; any other request (no `v`, or one from an older page) must
revalidate. `scripts/build-assets` writes a gzip copy beside each CSS and JS file; it is sent to
clients that accept gzip, so no compression runs in Python.

Mount `static_mount` in the root application (docs/decisions/0016-web-front-end.md).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import threading
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"

_hashes: dict[str, tuple[int, int, str]] = {}
_hashes_lock = threading.Lock()


def _file_hash(full_path: str) -> str:
    """The first 12 hex digits of the SHA-256 of a file's content (recomputed when it changes)."""
    stat = os.stat(full_path)
    cached = _hashes.get(full_path)
    if cached is not None and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2]
    digest = hashlib.sha256()
    with open(full_path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    value = digest.hexdigest()[:12]
    with _hashes_lock:
        _hashes[full_path] = (stat.st_mtime_ns, stat.st_size, value)
    return value


def _resolve(path: str) -> Path:
    """A path under static/ (as templates write it: "css/gennai.css"), checked to stay there."""
    full = (STATIC_DIR / path.lstrip("/")).resolve()
    if full != STATIC_DIR and STATIC_DIR not in full.parents:
        raise ValueError(f"static path outside the static folder: {path!r}")
    if not full.is_file():
        raise FileNotFoundError(f"no static file {path!r} in {STATIC_DIR} (run scripts/build-assets?)")
    return full


def asset_hash(path: str) -> str:
    """The content hash of a static file, e.g. asset_hash("css/gennai.css") == "3f9c0a1b2c4d"."""
    return _file_hash(str(_resolve(path)))


def asset_url(path: str, root_path: str = "") -> str:
    """The URL of a static file with its content hash: "/static/css/gennai.css?v=3f9c0a1b2c4d"."""
    clean = path.lstrip("/")
    return f"{root_path}{STATIC_PREFIX}/{clean}?v={asset_hash(clean)}"


def _accepts_gzip(accept_encoding: str) -> bool:
    accepted = False
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding == "*" and accepted:
            continue  # an explicit gzip entry wins over the wildcard
        accepted = quality > 0
        if coding != "*":
            return accepted
    return accepted


class GennaiStaticFiles(StaticFiles):
    """Starlette's StaticFiles with content-hash caching and precompressed gzip copies."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        request_headers = Headers(scope=scope)
        path = os.fspath(full_path)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        version = query.get("v")
        cache_control = IMMUTABLE if version and version == _file_hash(path) else REVALIDATE
        headers = {"Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"}

        response: Response
        compressed = path + ".gz"
        if not path.endswith(".gz") and os.path.isfile(compressed):
            headers["Vary"] = "Accept-Encoding"
            if _accepts_gzip(request_headers.get("accept-encoding", "")):
                media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
                if media_type == "application/javascript":
                    media_type = "text/javascript"
                response = FileResponse(
                    compressed,
                    status_code=status_code,
                    headers={**headers, "Content-Encoding": "gzip"},
                    media_type=media_type,
                    stat_result=os.stat(compressed),
                )
            else:
                response = FileResponse(path, status_code=status_code, headers=headers, stat_result=stat_result)
        else:
            response = FileResponse(path, status_code=status_code, headers=headers, stat_result=stat_result)

        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response


static_files = GennaiStaticFiles(directory=STATIC_DIR)

# Mount this in the root application's routes: Mount("/static", ...) named "static".
static_mount = Mount(STATIC_PREFIX, app=static_files, name="static")
