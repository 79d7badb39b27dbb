"""Attachments in chat requests: OpenAI's `file` content parts become text parts.

A chat message may carry documents as content parts in OpenAI's shape:

    {"type": "file", "file": {"filename": "報告.pdf", "file_data": "data:application/pdf;base64,…",
                              "classification": 2}}

`classification` is gennai's own (optional) field: the class the sender gives the document.
Each attachment is read here, once, and replaced in the message by a text part holding its
text between two labels, so that

- every backend receives the same thing (most cannot read files at all), and
- the policy classifies exactly the text that will be sent: the document's markings and
  personal data raise the request's class like anything typed, and its declared class is a
  floor of its own (see PolicyRequest.attachments).

Uploaded-file references (`file_id`) are not supported: gennai keeps no file store here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from gennai.documents.extract import DocumentError, extract_text
from gennai.gateway.errors import InvalidRequest
from gennai.policy.decision import parse_declared_class

OPENING = "〔添付ファイル「{name}」〕\n"
CLOSING = "\n〔添付ファイルここまで〕"


@dataclass(frozen=True, slots=True)
class Attachment:
    """What the policy and the usage record learn about one attachment (never its text)."""

    filename: str
    declared_class: int
    chars: int


def has_attachments(messages: list[dict[str, Any]]) -> bool:
    return any(
        isinstance(part, dict) and part.get("type") == "file"
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


def inline_attachments(messages: list[dict[str, Any]], *, max_chars: int) -> tuple[Attachment, ...]:
    """Replace every `file` part by a text part with the document's text, in place."""
    found: list[Attachment] = []
    for index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for position, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "file":
                continue
            param = f"messages[{index}].content[{position}].file"
            attachment, text = _read(part.get("file"), param, max_chars)
            content[position] = {"type": "text", "text": OPENING.format(name=attachment.filename) + text + CLOSING}
            found.append(attachment)
    return tuple(found)


def _read(file: Any, param: str, max_chars: int) -> tuple[Attachment, str]:
    if not isinstance(file, dict):
        raise InvalidRequest("file には filename と file_data を指定します / file needs filename and file_data", param=param)
    if "file_id" in file and "file_data" not in file:
        raise InvalidRequest(
            "file_id による参照には対応していません。file_data（data: URL）で送ってください / "
            "file_id references are not supported: send the document as file_data (a data: URL)",
            param=f"{param}.file_id",
            code="unsupported_file_reference",
        )
    filename = str(file.get("filename") or "添付ファイル")[:200]
    data, media_type = _decode_data_url(file.get("file_data"), f"{param}.file_data")
    declared = parse_declared_class(file.get("classification"), param=f"{param}.classification")
    try:
        text = extract_text(data, filename, media_type)
    except DocumentError as exc:
        raise InvalidRequest(str(exc), param=f"{param}.file_data", code="unreadable_attachment") from None
    if len(text) > max_chars:
        raise InvalidRequest(
            f"添付ファイル「{filename}」の文字数（{len(text):,}）が上限（{max_chars:,}）を超えています / "
            f"the attachment {filename} holds {len(text):,} characters, more than the limit of {max_chars:,}",
            param=f"{param}.file_data",
            code="attachment_too_long",
        )
    return Attachment(filename, declared, len(text)), text


def _decode_data_url(value: Any, param: str) -> tuple[bytes, str | None]:
    """A `data:<type>;base64,<data>` URL (or bare base64) → (bytes, media type)."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest("file_data（base64 の data: URL）がありません / file_data (a base64 data: URL) is missing", param=param)
    media_type = None
    payload = value
    if value.startswith("data:"):
        header, sep, payload = value.partition(",")
        if not sep or ";base64" not in header:
            raise InvalidRequest("file_data は base64 の data: URL にしてください / file_data must be a base64 data: URL", param=param)
        media_type = header[5:].split(";")[0] or None
    try:
        return base64.b64decode("".join(payload.split()), validate=True), media_type
    except (binascii.Error, ValueError):
        raise InvalidRequest("file_data の base64 が正しくありません / file_data is not valid base64", param=param) from None
