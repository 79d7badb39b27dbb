"""Writing evaluation files so that a crash never leaves half a file: write a temporary file in
the same folder, fsync it, then rename it over the target (`write_atomic`) or hard-link it
into place without ever replacing an existing file (`write_new`: keys, sealed suites).

Append-only JSONL files (transcripts, judgements, grading queues and grades) are appended line
by line; a crash can leave only the last line torn (no newline after it). Reading skips it
(`read_json_lines`), and the next append cuts it off first (`open_for_appending`), so it never
runs into a whole line."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping
from typing import Any, BinaryIO


def _temporary(path: Path, data: bytes, mode: int) -> Path:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)  # whatever the umask
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` in one step."""
    temporary = _temporary(path, data, mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create `path` with `data` in one step; FileExistsError if it exists (even if it
    appeared meanwhile)."""
    temporary = _temporary(path, data, mode)
    try:
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json_atomic(path: Path, data: Any) -> None:
    """Indented UTF-8 JSON, replaced in one step (the folder is created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def json_line(record: Mapping[str, Any]) -> bytes:
    """One JSONL line (UTF-8, readable Japanese, newline at the end)."""
    return (json.dumps(dict(record), ensure_ascii=False) + "\n").encode("utf-8")


def open_for_appending(path: Path) -> BinaryIO:
    """Open a JSONL file for appending (created with its folder if missing), after cutting off
    a torn last line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+b")
    if handle.seek(0, os.SEEK_END) > 0:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\n":
            handle.seek(0)
            handle.truncate(handle.read().rfind(b"\n") + 1)
    return handle


def append_json_lines(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Append the records in one write, flushed and synced."""
    data = b"".join(json_line(record) for record in records)
    if not data:
        return
    with open_for_appending(path) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_json_lines(path: Path, error: Callable[[str], Exception], *, hint: str | None = None) -> list[tuple[int, Any]]:
    """(line number, value) per non-blank line; [] when the file does not exist. A torn last
    line is skipped; any other line that is not JSON raises `error("FILE:LINE: not a JSON line
    (…)")`, with `hint` or the parser's reason in the brackets."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    values: list[tuple[int, Any]] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            values.append((number, json.loads(raw.decode("utf-8"))))
        except (UnicodeDecodeError, ValueError) as reason:
            if number == len(lines):
                continue  # torn: the crash happened while writing it
            raise error(f"{path}:{number}: not a JSON line ({hint or reason})") from None
    return values
