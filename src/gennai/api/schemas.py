"""The OpenAI wire schema for requests, validated fast and strictly where it matters.

Unknown fields are allowed and passed through to OpenAI-compatible backends untouched.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(_Open):
    include_usage: bool | None = None


class ChatCompletionRequest(_Open):
    model: Annotated[str, Field(min_length=1)]
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    n: Annotated[int, Field(ge=1, le=1)] | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    seed: int | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    user: str | None = None


class EmbeddingRequest(_Open):
    model: Annotated[str, Field(min_length=1)]
    input: str | Annotated[list[str], Field(min_length=1)] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Field(ge=1)] | None = None


class GennaiOptions(BaseModel):
    """gennai's own request fields, sent as `"gennai": {...}` in the body (the OpenAI SDKs
    pass them with `extra_body`). Removed before the body goes to any model."""

    model_config = ConfigDict(extra="forbid")

    classification: int | str | None = None
    task: Annotated[str, Field(max_length=64)] | None = None
    app: Annotated[str, Field(max_length=128)] | None = None
    # The conversation this request belongs to: its class never goes down (see
    # gennai.policy.conversations).
    conversation_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
