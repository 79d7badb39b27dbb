"""The texts a request would send to a model: what the policy classifies."""

from __future__ import annotations

from typing import Any

import orjson

# Request fields other than messages whose text reaches the model: tool and function
# definitions (names, descriptions, parameter schemas) and a structured-output schema.
DEFINITION_FIELDS = ("tools", "functions", "response_format")
# Messages that instruct the model (an app's or a client's system prompt) rather than carry
# a user's content.
INSTRUCTION_ROLES = frozenset({"system", "developer"})


def message_texts(messages: list[dict[str, Any]]) -> tuple[str, ...]:
    """Every piece of text a chat request would send: contents, text parts, tool-call
    arguments and tool results."""
    return tuple(text for _, text in role_texts(messages))


def role_texts(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """message_texts, each with the role of the message it is in."""
    texts: list[tuple[str, str]] = []
    for message in messages:
        role = message.get("role")
        role = role if isinstance(role, str) else ""
        content = message.get("content")
        if isinstance(content, str):
            texts.append((role, content))
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict):
                    value = part.get("text", part.get("refusal"))
                    if isinstance(value, str):
                        texts.append((role, value))
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                texts.append((role, function["arguments"]))
    return texts


def input_texts(value: Any) -> tuple[str, ...]:
    """The texts of an embeddings request (token-id inputs carry no text we can read)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def definition_texts(body: dict[str, Any]) -> tuple[str, ...]:
    """The text of tool definitions and output schemas: a model reads those too."""
    return tuple(
        orjson.dumps(body[name]).decode()
        for name in DEFINITION_FIELDS
        if isinstance(body.get(name), (list, dict)) and body[name]
    )
