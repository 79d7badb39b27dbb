"""Errors the gateway raises; the API layer turns them into OpenAI-shaped answers."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status: int = 500
    error_type: str = "server_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.retry_after = retry_after
        # Facts behind the message for programs and pages (a policy refusal's class, kinds
        # found, masked previews, allowed models; the models a failed call tried): never a
        # raw detected value.
        self.details = details
        if status is not None:
            self.status = status

    def to_payload(self) -> dict[str, object]:
        error: dict[str, object] = {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class InvalidRequest(GatewayError):
    status = 400
    error_type = "invalid_request_error"


class Unauthorized(GatewayError):
    status = 401
    error_type = "authentication_error"


class Forbidden(GatewayError):
    status = 403
    error_type = "permission_error"


class ModelNotFound(GatewayError):
    status = 404
    error_type = "not_found_error"


class NotFound(GatewayError):
    status = 404
    error_type = "not_found_error"


class Conflict(GatewayError):
    """The request is valid but contradicts what is stored (a name taken, the last admin)."""

    status = 409
    error_type = "conflict_error"


class PayloadTooLarge(GatewayError):
    status = 413
    error_type = "invalid_request_error"


class RateLimited(GatewayError):
    status = 429
    error_type = "rate_limit_error"


class Overloaded(GatewayError):
    """Our own bounded queue for a model is full: back off and try again."""

    status = 503
    error_type = "overloaded_error"


class UpstreamError(GatewayError):
    """A backend failed. `retry_same`: worth retrying the same model; `fallback`: try another."""

    status = 502
    error_type = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        status: int = 502,
        retry_same: bool = True,
        fallback: bool = True,
        code: str | None = None,
        retry_after: float | None = None,
        param: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, retry_after=retry_after, status=status, param=param, details=details)
        self.retry_same = retry_same
        self.fallback = fallback


class UpstreamTimeout(UpstreamError):
    error_type = "timeout_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, status=504, code="upstream_timeout")


class UpstreamRejected(UpstreamError):
    """The backend said the request itself is wrong (4xx): no retry, no fallback."""

    error_type = "invalid_request_error"

    def __init__(self, message: str, *, status: int = 400, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message, status=status, retry_same=False, fallback=False, code=code, param=param)


class PolicyViolation(GatewayError):
    """Code tried to send text to a model without the policy's admission. Never expected."""

    status = 500
    error_type = "server_error"
