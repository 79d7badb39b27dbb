"""What a chat or embeddings request would send to a model, read once for the policy:
the capabilities it needs, every text in it, and its attachments.

Chat content parts: `text` (and an assistant's `refusal`) are text; `file` parts are
attachments, read and turned into text parts here (gennai.documents.attachments);
`image_url` parts need a model with the `vision` capability and are classified by the
declared class only (images are not read). Any other part type is refused rather than
passed on unread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gennai.gateway.errors import InvalidRequest
from gennai.policy.texts import INSTRUCTION_ROLES, definition_texts, input_texts, role_texts

TEXT_PARTS = frozenset({"text", "refusal"})
KNOWN_PARTS = TEXT_PARTS | {"file", "image_url"}


@dataclass(frozen=True, slots=True)
class RequestContent:
    capabilities: tuple[str, ...]
    texts: tuple[str, ...]
    # (file name, declared class) per attachment
    attachment_classes: tuple[tuple[str, int], ...] = ()
    # The positions in `texts` of instructions to the model (system and developer messages,
    # tool definitions, output schemas) rather than a user's content.
    instructions: frozenset[int] = frozenset()


def part_types(messages: list[dict[str, Any]]) -> dict[str, str]:
    """The content part types used in the messages, each with where it first appears
    (empty when every content is a plain string)."""
    kinds: dict[str, str] = {}
    for index, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, list):
            for position, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) and isinstance(part.get("type"), str) else "?"
                kinds.setdefault(kind, f"messages[{index}].content[{position}].type")
    return kinds


def chat_content(body: dict[str, Any], *, max_attachment_chars: int) -> RequestContent:
    """Read a chat body (attachments are replaced by their text in place)."""
    messages: list[dict[str, Any]] = body["messages"]
    capabilities = ["chat"]
    if body.get("tools") or body.get("functions"):
        capabilities.append("tools")
    attachments: tuple[tuple[str, int], ...] = ()
    kinds = part_types(messages)
    if kinds:
        unknown = sorted(set(kinds) - KNOWN_PARTS)
        if unknown:
            names = ", ".join(unknown)
            raise InvalidRequest(
                f"この種類の内容には対応していません: {names}（対応: text, file, image_url） / "
                f"unsupported content part type: {names}",
                param=kinds[unknown[0]],
                code="unsupported_content",
            )
        if "image_url" in kinds:
            capabilities.append("vision")
        if "file" in kinds:
            from gennai.documents.attachments import inline_attachments

            found = inline_attachments(messages, max_chars=max_attachment_chars)
            attachments = tuple((a.filename, a.declared_class) for a in found)
    said = role_texts(messages)
    texts = tuple(text for _, text in said) + definition_texts(body)
    instructions = frozenset(i for i, (role, _) in enumerate(said) if role in INSTRUCTION_ROLES) | frozenset(range(len(said), len(texts)))
    return RequestContent(tuple(capabilities), texts, attachments, instructions)


def embeddings_content(body: dict[str, Any]) -> RequestContent:
    return RequestContent(("embeddings",), input_texts(body["input"]))
