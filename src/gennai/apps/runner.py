"""Running a general app: the submitted inputs are checked against the app's form, the prompt
is built from its templates, files become OpenAI `file` content parts (read and classified by
gennai.documents exactly like chat attachments), and the call goes through the one
admission path (gennai.gateway.calls.ModelCall) as a streamed web call: usage record
endpoint "web.app", PolicyRequest app=<app id>, task and app_class from the app's routing
hints. An app run is one-off: nothing is stored as a conversation; the usage record is all
that remains (its detail names the app).

`AppRunner.preview` asks the policy about the same prompt with the same hints, before
anything is sent (what the page shows while the form is being filled in).

No HTTP here: the web layer renders the form from AppDefinition.to_json(), posts the
protocol's inputs and turns the events into SSE.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import aclosing
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from gennai.accounts.keys import Principal
from gennai.apps.definitions import AppDefinition
from gennai.apps.forms import FORM_ERROR_KEY, UploadedFile
from gennai.conversations.chat import ChatEvent, Preview, preview_request, stream_call
from gennai.gateway.calls import ModelCall, policy_request
from gennai.gateway.errors import InvalidRequest
from gennai.policy.content import chat_content
from gennai.policy.decision import AUTO

if TYPE_CHECKING:
    from gennai.platform import Platform

ENDPOINT = "web.app"
INVALID_FORM = "入力内容を確認してください。"
_FILE_PARAM = re.compile(r"^messages\[(\d+)\]\.content\[(\d+)\]")


class AppRunner:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def messages(self, app: AppDefinition, values: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """The chat messages for validated values, and for each `file` part's position in the
        user message, the field it came from."""
        system, user = app.render(values)
        parts: list[dict[str, Any]] = [{"type": "text", "text": user}]
        origin: dict[int, str] = {}
        for key in app.file_fields:
            file: UploadedFile
            for file in values.get(key) or ():
                origin[len(parts)] = key
                parts.append({"type": "file", "file": {"filename": file.filename, "file_data": file.data_url()}})
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": parts if len(parts) > 1 else user})
        return messages, origin

    def body(self, app: AppDefinition, messages: list[dict[str, Any]], model: str) -> dict[str, Any]:
        """The streamed chat completions body of a run."""
        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if app.temperature is not None:
            body["temperature"] = app.temperature
        if app.max_tokens is not None:
            body["max_tokens"] = app.max_tokens
        return body

    async def preview(
        self, principal: Principal, app: AppDefinition, inputs: dict[str, Any], *, model: str = AUTO,
        declared_class: int = 1,
    ) -> Preview:
        """What the policy would do with a run of these inputs, without sending, reserving or
        recording anything: the prompt rendered as `run` renders it (while the form is not yet
        complete, from the fields that are), with the app's routing hints. Raises
        InvalidRequest for an attached file that cannot be read."""
        checked = app.validate_inputs(inputs)
        messages, _ = self.messages(app, checked.values if checked.ok else checked.passed)
        content = await asyncio.to_thread(
            chat_content, self.body(app, messages, model),
            max_attachment_chars=self.platform.loaded.config.server.max_attachment_chars,
        )
        request = await policy_request(
            self.platform, principal, content, model=model, declared_class=declared_class, **routing_hints(app)
        )
        return await preview_request(self.platform, request, content.texts)

    async def run(
        self, principal: Principal, app: AppDefinition, inputs: dict[str, Any], *, model: str = AUTO,
        declared_class: int = 1,
    ) -> AsyncIterator[ChatEvent]:
        """Run the app once, streamed. Events as ChatService.send's ("started", "delta",
        "done", "error"), each but the deltas with "app": the app's id. Inputs that do not
        fit the form give one "error" event of kind "invalid" with "fields": {key: Japanese
        message} (FORM_ERROR_KEY for the request as a whole), and no model is called."""
        call = ModelCall(self.platform, ENDPOINT, streamed=True)
        call.principal = principal
        info = {"app": app.id}
        detail = f"app={app.id}"
        checked = app.validate_inputs(inputs)
        if not checked.ok:
            first = next(iter(checked.errors))
            error = InvalidRequest(INVALID_FORM, param=f"inputs.{first}", code="invalid_form")
            call.record("error", error.status, error, detail=f"{detail}: invalid form ({', '.join(checked.errors)})"[:500])
            yield ChatEvent("error", {
                **info, "kind": "invalid", "message": INVALID_FORM, "status": error.status, "retry_after": None,
                "param": error.param, "partial": False, "request_id": call.request_id, "fields": dict(checked.errors),
            })
            return
        messages, origin = self.messages(app, checked.values)
        body = self.body(app, messages, model)
        user_index = len(messages) - 1
        events = stream_call(
            call, body, model=model, declared_class=declared_class, max_output_tokens=app.max_tokens, info=info,
            detail=detail, **routing_hints(app),
        )
        async with aclosing(events):  # a reader that goes away closes the call now
            async for event in events:
                if event.kind == "error":
                    event.data["fields"] = _fields(event.data.get("param"), event.data["message"], user_index, origin)
                yield event


def routing_hints(app: AppDefinition) -> dict[str, Any]:
    """What the policy is told about an app (PolicyRequest task, app and app_class): the
    same for a run and its preview."""
    return {"task": app.task, "app": app.id, "app_class": app.min_class}


def _fields(param: Any, message: str, user_index: int, origin: Mapping[int, str]) -> dict[str, str]:
    """An attachment that cannot be read is the file field's problem (shown next to it)."""
    found = _FILE_PARAM.match(param) if isinstance(param, str) else None
    if found and int(found.group(1)) == user_index and int(found.group(2)) in origin:
        return {origin[int(found.group(2))]: message}
    return {}


__all__ = ["ENDPOINT", "FORM_ERROR_KEY", "AppRunner", "routing_hints"]
