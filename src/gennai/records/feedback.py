"""Feedback on an answer: 「役に立った／役に立たなかった」 and an optional comment, kept next to
the request's usage record (same `request_id`).

One row per request and person (table `feedback`, created by migration 0005): giving feedback
again on the same answer replaces the earlier rating and comment.

Who may give it: only the person the request was made for. The request id comes from the
browser (the chat stream's "done" event), so it is not trusted on its own: `record_feedback`
looks the request up in `usage_records` and refuses (`RequestNotFound`) unless the record
exists and its `user_id` is the person giving feedback — the same answer whether the request
does not exist or is someone else's. Usage records are written in batches off the request
path, so a feedback that arrives before its record is written gets `RecordNotYetWritten`; the
web layer flushes its own worker's pending records and retries briefly
(gennai.web.chat_pages.give_feedback). The table stores `user_id` as well, so a reader never
needs the join to know whose feedback it is.

Nothing here is audited: feedback is neither an admin change nor access to content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, String, Text, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from gennai.store.tables import Base, UsageRecord

RATINGS = ("good", "bad")
RATING_NAMES = {"good": "役に立った", "bad": "役に立たなかった"}
MAX_COMMENT_CHARS = 1000
MAX_REQUEST_ID_CHARS = 40


class FeedbackEntry(Base):
    """A person's feedback on one answer (created by migration 0005)."""

    __tablename__ = "feedback"

    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rating: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeedbackError(ValueError):
    """Base of the errors below; the message is for the user (Japanese / English)."""


class InvalidFeedback(FeedbackError):
    """The rating or comment is not acceptable."""


class RequestNotFound(FeedbackError, LookupError):
    """No request of this person with that id (whether it exists for someone else is not said)."""

    def __init__(self) -> None:
        super().__init__("この回答は見つかりません / no such answer of yours")


class RecordNotYetWritten(RequestNotFound):
    """No usage record with that id yet: it may still be waiting to be written."""


@dataclass(frozen=True, slots=True)
class Feedback:
    request_id: str
    user_id: str
    rating: str
    comment: str | None
    created_at: datetime


def check_feedback(rating: object, comment: object) -> tuple[str, str | None]:
    """(rating, comment) cleaned: rating "good" or "bad"; the comment stripped, None when
    empty, at most MAX_COMMENT_CHARS characters."""
    if rating not in RATINGS:
        raise InvalidFeedback("評価は good（役に立った）か bad（役に立たなかった）です / rating must be 'good' or 'bad'")
    if comment is not None and not isinstance(comment, str):
        raise InvalidFeedback("コメントは文字列です / comment must be a string")
    text = (comment or "").replace("\x00", "").strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidFeedback(
            f"コメントは{MAX_COMMENT_CHARS}文字以内にしてください / the comment is longer than {MAX_COMMENT_CHARS} characters"
        )
    return str(rating), text or None


def record_feedback(
    engine: Engine,
    request_id: str,
    user_id: str,
    rating: str,
    comment: str | None,
    *,
    now: datetime | None = None,
) -> Feedback:
    """Store (or replace) `user_id`'s feedback on the answer of request `request_id`.

    Raises InvalidFeedback (rating/comment), RecordNotYetWritten (no usage record with that
    id yet) or RequestNotFound (the request is someone else's). Blocking: call from a thread
    in async code."""
    rating, cleaned = check_feedback(rating, comment)
    if not isinstance(request_id, str) or not request_id or len(request_id) > MAX_REQUEST_ID_CHARS:
        raise RequestNotFound()
    when = (now or datetime.now(UTC)).astimezone(UTC)
    values = {"rating": rating, "comment": cleaned, "created_at": when}
    key = (FeedbackEntry.request_id == request_id, FeedbackEntry.user_id == user_id)
    for attempt in range(2):
        try:
            with engine.begin() as connection:
                found = connection.execute(
                    select(UsageRecord.user_id).where(UsageRecord.request_id == request_id)
                ).first()
                if found is None:
                    raise RecordNotYetWritten()
                if found[0] is None or found[0] != user_id:
                    raise RequestNotFound()
                if not connection.execute(update(FeedbackEntry).where(*key).values(**values)).rowcount:
                    connection.execute(insert(FeedbackEntry).values(request_id=request_id, user_id=user_id, **values))
            break
        except IntegrityError:  # a concurrent first feedback on the same answer: update it instead
            if attempt:
                raise
    return Feedback(request_id, user_id, rating, cleaned, when)


def read_feedback(engine: Engine, request_id: str, user_id: str) -> Feedback | None:
    """The person's feedback on one answer, if any."""
    with engine.connect() as connection:
        row = connection.execute(select(FeedbackEntry).where(
            FeedbackEntry.request_id == request_id, FeedbackEntry.user_id == user_id
        )).first()
    if row is None:
        return None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Feedback(row.request_id, row.user_id, row.rating, row.comment, created)


__all__ = [
    "MAX_COMMENT_CHARS",
    "RATINGS",
    "RATING_NAMES",
    "Feedback",
    "FeedbackEntry",
    "FeedbackError",
    "InvalidFeedback",
    "RecordNotYetWritten",
    "RequestNotFound",
    "check_feedback",
    "read_feedback",
    "record_feedback",
]
