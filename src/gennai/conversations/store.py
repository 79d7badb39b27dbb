"""Stored conversations: encrypted at rest, read only by their owner, deleted on retention.

Admins do not read content. Neither a system administrator nor a team administrator has any
method here that returns a title or a message: `read` and `list` answer only the owner (anyone
else gets `ConversationNotFound`, the same answer as for a conversation that does not exist),
and the one exception is an auditor's explicit, reasoned and audited access
(`auditor_open`): the user must hold the "auditor" role, must give a reason, and the audit
entry is written *before* anything is decrypted; if that entry cannot be written, nothing is
returned.

Encryption (see keys.py and docs/decisions/0014-content-encryption.md): every title and
message is sealed with AES-256-GCM under the conversation's data key, with a fresh 96-bit
random nonce, and with associated data that binds the ciphertext to its row: the
conversation id, its owner, and for a message its sequence number and role. A ciphertext
copied to another row, or a conversation whose owner was changed in the database, does not
decrypt (`ContentIntegrityError`).

Retention: `expires_at` is the last activity (creation or the latest message) plus the
team's `retention_days`, so a conversation in use is kept and one left alone is deleted once
its team's period has passed since it was last touched. `purge_expired` deletes the expired
ones in batches (rows are deleted, never flagged); two workers may run it at once.
Deleting by the owner is immediate and leaves an audit entry without content.
"""

from __future__ import annotations

import builtins
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, case, delete, func, insert, select, update

from gennai.conversations.keys import NONCE_BYTES, DataKeyring, MasterKeys
from gennai.store.tables import Conversation, ConversationMessage, DataKey, Team, User

log = logging.getLogger("gennai.conversations")

# `AuditLog.append(action, *, outcome="ok", actor_user_id=None, actor_key_id=None,
# actor_name=None, team_id=None, target_type=None, target_id=None, detail=None, ip=None)`
AuditFn = Callable[..., object]

AUDITOR_ROLE = "auditor"
MIN_REASON_CHARS = 10
PURGE_BATCH = 500
DEFAULT_RETENTION_DAYS = 365  # the teams table's default
_MAX_ROLE = 20
_MAX_MODEL_ID = 100


class ConversationError(Exception):
    """Base of the errors below."""


class ConversationNotFound(ConversationError, LookupError):
    """No such conversation for this user (whether it exists for someone else is not said)."""

    def __init__(self) -> None:
        super().__init__("conversation not found")


class AuditorAccessDenied(ConversationError, PermissionError):
    """The user is not an (enabled) auditor."""


class ReasonRequired(ConversationError, ValueError):
    """An auditor's access needs a reason of at least MIN_REASON_CHARS characters."""


class AuditUnavailable(ConversationError):
    """The audit entry could not be written, so no content is returned."""


class ContentIntegrityError(ConversationError):
    """A ciphertext did not authenticate: altered, or moved from another row."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    role: str
    content: str
    model_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: str
    title: str
    team_id: str
    max_class: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationContent:
    id: str
    title: str
    team_id: str
    owner_id: str
    max_class: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    messages: tuple[StoredMessage, ...]


def title_aad(conversation_id: str, owner_id: str) -> bytes:
    return b"\x00".join((b"gennai/title/v1", conversation_id.encode(), owner_id.encode()))


def message_aad(conversation_id: str, owner_id: str, seq: int, role: str) -> bytes:
    return b"\x00".join(
        (b"gennai/message/v1", conversation_id.encode(), owner_id.encode(), str(seq).encode(), role.encode())
    )


def _seal(cipher: AESGCM, text: str, aad: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(NONCE_BYTES)  # a fresh 96-bit random nonce for every encryption
    return nonce, cipher.encrypt(nonce, text.encode("utf-8"), aad)


def _open(cipher: AESGCM, nonce: bytes, ciphertext: bytes, aad: bytes, what: str) -> str:
    try:
        return cipher.decrypt(bytes(nonce), bytes(ciphertext), aad).decode("utf-8")
    except InvalidTag:
        raise ContentIntegrityError(
            f"{what}: the ciphertext does not authenticate (altered, or moved from another row)"
        ) from None


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _check_class(value: int) -> int:
    if value not in (1, 2, 3):
        raise ValueError("max_class must be 1, 2 or 3")
    return value


def purge_expired(
    engine: Engine, now: datetime | None = None, *, batch_size: int = PURGE_BATCH, stop: threading.Event | None = None
) -> int:
    """Delete every conversation whose `expires_at` has passed, with its messages, in
    batches (each its own transaction); returns how many were deleted. Needs no key.

    Two workers may run it at once: on PostgreSQL each claims its batch with FOR UPDATE SKIP
    LOCKED; on SQLite writers are serialised. Every delete re-checks the expiry, so a
    conversation that got a message meanwhile is kept. `stop` ends it between batches."""
    now = _utc(now or _now())
    total = 0
    while stop is None or not stop.is_set():
        with engine.begin() as connection:
            ids = connection.execute(
                select(Conversation.id)
                .where(Conversation.expires_at <= now)
                .order_by(Conversation.expires_at, Conversation.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).scalars().all()
            if not ids:
                break
            still_expired = select(Conversation.id).where(Conversation.id.in_(ids), Conversation.expires_at <= now)
            connection.execute(delete(ConversationMessage).where(ConversationMessage.conversation_id.in_(still_expired)))
            deleted = connection.execute(
                delete(Conversation).where(Conversation.id.in_(ids), Conversation.expires_at <= now)
            ).rowcount
        total += int(deleted or 0)
        if len(ids) < batch_size:
            break
    return total


class ConversationStore:
    """Encrypted conversations. Blocking (SQLAlchemy, sync): call from a thread in async code.

    `keys` is the configured master keys (or a ready DataKeyring); `audit` is the default
    audit callable for `delete` and `auditor_open`; `clock` gives the current time (UTC)."""

    def __init__(
        self,
        engine: Engine,
        keys: MasterKeys | DataKeyring,
        *,
        audit: AuditFn | None = None,
        clock: Callable[[], datetime] = _now,
        data_key_max_age_days: float = 90.0,
        purge_batch_size: int = PURGE_BATCH,
    ) -> None:
        self.engine = engine
        self.data_keys = (
            keys
            if isinstance(keys, DataKeyring)
            else DataKeyring(engine, keys, max_age_days=data_key_max_age_days, clock=clock)
        )
        self.audit = audit
        self.clock = clock
        self.purge_batch_size = purge_batch_size

    # -- the owner --------------------------------------------------------------------

    def create(self, owner_id: str, team_id: str, title: str, max_class: int = 1) -> str:
        """A new conversation of `owner_id` in `team_id`; returns its id."""
        _check_class(max_class)
        now = _utc(self.clock())
        with self.engine.connect() as connection:
            if connection.execute(select(User.id).where(User.id == owner_id)).first() is None:
                raise ValueError(f"unknown user {owner_id}")
            days = self._retention_days(connection, team_id)
        data_key_id, cipher = self.data_keys.current()
        conversation_id = str(uuid.uuid4())
        nonce, ciphertext = _seal(cipher, title, title_aad(conversation_id, owner_id))
        with self.engine.begin() as connection:
            connection.execute(
                insert(Conversation).values(
                    id=conversation_id,
                    owner_id=owner_id,
                    team_id=team_id,
                    data_key_id=data_key_id,
                    title_nonce=nonce,
                    title_ciphertext=ciphertext,
                    max_class=max_class,
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(days=days),
                )
            )
        return conversation_id

    def append(
        self,
        conversation_id: str,
        owner_id: str,
        role: str,
        content: str,
        model_id: str | None = None,
        max_class: int = 1,
    ) -> int:
        """Add a message (encrypted); raises the conversation's class to `max_class` (never
        lowers it) and restarts its retention period. Returns the message's sequence number."""
        _check_class(max_class)
        if not role or len(role) > _MAX_ROLE or "\x00" in role:
            raise ValueError(f"role must be 1 to {_MAX_ROLE} characters")
        if model_id is not None and len(model_id) > _MAX_MODEL_ID:
            raise ValueError(f"model_id must be at most {_MAX_MODEL_ID} characters")
        now = _utc(self.clock())
        with self.engine.connect() as connection:
            found = connection.execute(
                select(Conversation.team_id, Conversation.data_key_id).where(
                    Conversation.id == conversation_id, Conversation.owner_id == owner_id
                )
            ).first()
            if found is None:
                raise ConversationNotFound()
            team_id, known_key_id = found
            days = self._retention_days(connection, team_id, missing_ok=True)
        # Keys are unwrapped before the transaction (each may need a connection of its own).
        current_id, current_cipher = self.data_keys.current()
        ciphers = {current_id: current_cipher, known_key_id: self.data_keys.cipher(known_key_id)}
        with self.engine.begin() as connection:
            # The UPDATE comes first: it locks the conversation's row (PostgreSQL) or the
            # database (SQLite) so that concurrent appends get consecutive numbers.
            touched = connection.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.owner_id == owner_id)
                .values(
                    updated_at=now,
                    expires_at=now + timedelta(days=days),
                    max_class=case((Conversation.max_class < max_class, max_class), else_=Conversation.max_class),
                )
            ).rowcount
            if not touched:
                raise ConversationNotFound()
            data_key_id, retired = connection.execute(
                select(Conversation.data_key_id, DataKey.retired_at)
                .join(DataKey, DataKey.id == Conversation.data_key_id)
                .where(Conversation.id == conversation_id)
            ).one()
            if data_key_id not in ciphers:  # re-keyed by a concurrent append meanwhile (rare)
                ciphers[data_key_id] = self.data_keys.cipher(data_key_id)
            if retired is not None and data_key_id != current_id:
                self._rekey(connection, conversation_id, owner_id, ciphers[data_key_id], current_id, current_cipher)
                cipher = current_cipher
            else:
                cipher = ciphers[data_key_id]
            seq = int(
                connection.execute(
                    select(func.coalesce(func.max(ConversationMessage.seq), 0)).where(
                        ConversationMessage.conversation_id == conversation_id
                    )
                ).scalar_one()
            ) + 1
            nonce, ciphertext = _seal(cipher, content, message_aad(conversation_id, owner_id, seq, role))
            connection.execute(
                insert(ConversationMessage).values(
                    conversation_id=conversation_id,
                    seq=seq,
                    role=role,
                    model_id=model_id,
                    nonce=nonce,
                    ciphertext=ciphertext,
                    created_at=now,
                )
            )
        return seq

    def list(self, owner_id: str) -> builtins.list[ConversationSummary]:
        """The owner's conversations, most recently active first, titles decrypted."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Conversation)
                .where(Conversation.owner_id == owner_id)
                .order_by(Conversation.updated_at.desc(), Conversation.id)
            ).all()
        out: builtins.list[ConversationSummary] = []
        for row in rows:
            title = _open(
                self.data_keys.cipher(row.data_key_id),
                row.title_nonce,
                row.title_ciphertext,
                title_aad(row.id, row.owner_id),
                f"conversation {row.id} title",
            )
            out.append(
                ConversationSummary(
                    id=row.id,
                    title=title,
                    team_id=row.team_id,
                    max_class=row.max_class,
                    created_at=_utc(row.created_at),
                    updated_at=_utc(row.updated_at),
                    expires_at=_utc(row.expires_at),
                )
            )
        return out

    def read(self, conversation_id: str, owner_id: str) -> ConversationContent:
        """The conversation with its messages decrypted: only for its owner."""
        return self._content(conversation_id, owner_id)

    def rename(self, conversation_id: str, owner_id: str, title: str) -> None:
        """Give a conversation a new title, sealed with its data key (owner only). If the
        conversation is re-keyed meanwhile, the title is sealed again with the new key."""
        title = " ".join(title.split())[:200] or "新しい会話"
        for _ in range(3):
            with self.engine.connect() as connection:
                key_id = connection.execute(
                    select(Conversation.data_key_id).where(Conversation.id == conversation_id, Conversation.owner_id == owner_id)
                ).scalar()
            if key_id is None:
                raise ConversationNotFound()
            nonce, ciphertext = _seal(self.data_keys.cipher(key_id), title, title_aad(conversation_id, owner_id))
            with self.engine.begin() as connection:
                changed = connection.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.owner_id == owner_id, Conversation.data_key_id == key_id)
                    .values(title_nonce=nonce, title_ciphertext=ciphertext)
                ).rowcount
            if changed:
                return
        raise ConversationNotFound()

    def delete(self, conversation_id: str, owner_id: str, *, audit: AuditFn | None = None) -> None:
        """Delete a conversation and its messages now (owner only), then write a
        "content.deleted" audit entry (counts only, no content)."""
        with self.engine.begin() as connection:
            team_id = connection.execute(
                select(Conversation.team_id)
                .where(Conversation.id == conversation_id, Conversation.owner_id == owner_id)
                .with_for_update()
            ).scalar()
            if team_id is None:
                raise ConversationNotFound()
            messages = connection.execute(
                delete(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id)
            ).rowcount
            if not connection.execute(delete(Conversation).where(Conversation.id == conversation_id)).rowcount:
                raise ConversationNotFound()  # the retention job got there first
        audit = audit or self.audit
        if audit is not None:
            try:
                audit(
                    "content.deleted",
                    actor_user_id=owner_id,
                    team_id=team_id,
                    target_type="conversation",
                    target_id=conversation_id,
                    detail={"messages": int(messages or 0)},
                )
            except Exception:  # noqa: BLE001 - the owner's deletion stands; the failure is logged
                log.exception("conversation %s was deleted by its owner, but the audit entry failed", conversation_id)

    # -- the auditor ------------------------------------------------------------------

    def auditor_open(
        self, conversation_id: str, auditor_user_id: str, reason: str, audit: AuditFn | None = None
    ) -> ConversationContent:
        """An auditor opens one conversation, for a stated reason. The access is audited
        ("content.auditor_access", the reason in its detail) before anything is decrypted;
        if the entry cannot be written, AuditUnavailable is raised and nothing is returned.
        Refusals are audited too (outcome "denied" / "not_found"), as far as possible."""
        audit = audit or self.audit
        if audit is None:
            raise AuditUnavailable("no audit log is configured: an auditor's access is refused")
        reason = (reason or "").strip()
        with self.engine.connect() as connection:
            user = connection.execute(select(User.roles, User.disabled).where(User.id == auditor_user_id)).first()
            found = connection.execute(
                select(Conversation.team_id).where(Conversation.id == conversation_id)
            ).first()
        team_id = found[0] if found is not None else None

        def refused(outcome: str, why: str) -> None:
            try:
                audit(
                    "content.auditor_access",
                    outcome=outcome,
                    actor_user_id=auditor_user_id,
                    team_id=team_id,
                    target_type="conversation",
                    target_id=conversation_id,
                    detail={"reason": reason, "refused": why},
                )
            except Exception:  # noqa: BLE001 - the refusal stands either way
                log.exception("could not audit a refused auditor access to conversation %s", conversation_id)

        if user is None or user.disabled or AUDITOR_ROLE not in (user.roles or []):
            refused("denied", "not an auditor")
            raise AuditorAccessDenied("only a user with the auditor role may open a conversation's content")
        if len(reason) < MIN_REASON_CHARS:
            refused("denied", "no reason")
            raise ReasonRequired(f"an auditor's access needs a reason (at least {MIN_REASON_CHARS} characters)")
        if found is None:
            refused("not_found", "no such conversation")
            raise ConversationNotFound()
        try:
            audit(
                "content.auditor_access",
                actor_user_id=auditor_user_id,
                target_type="conversation",
                target_id=conversation_id,
                team_id=team_id,
                detail={"reason": reason},
            )
        except Exception as exc:
            raise AuditUnavailable(
                f"the audit entry could not be written ({type(exc).__name__}); no content was returned"
            ) from exc
        return self._content(conversation_id, None)

    # -- retention --------------------------------------------------------------------

    def purge_expired(self, now: datetime | None = None, *, stop: threading.Event | None = None) -> int:
        """Delete every conversation whose retention period has passed; see `purge_expired`
        (the module function). Returns how many were deleted."""
        return purge_expired(self.engine, _utc(now or self.clock()), batch_size=self.purge_batch_size, stop=stop)

    def apply_team_retention(self, team_id: str) -> int:
        """Recompute `expires_at` (last activity + the team's retention_days) for the team's
        conversations, after its retention period changed; returns how many were updated."""
        with self.engine.connect() as connection:
            days = self._retention_days(connection, team_id)
            rows = connection.execute(
                select(Conversation.id, Conversation.updated_at).where(Conversation.team_id == team_id)
            ).all()
        changed = 0
        for start in range(0, len(rows), self.purge_batch_size):
            with self.engine.begin() as connection:
                for conversation_id, updated_at in rows[start : start + self.purge_batch_size]:
                    changed += int(
                        connection.execute(
                            update(Conversation)
                            .where(Conversation.id == conversation_id, Conversation.updated_at == updated_at)
                            .values(expires_at=_utc(updated_at) + timedelta(days=days))
                        ).rowcount
                        or 0
                    )
        return changed

    # -- internals --------------------------------------------------------------------

    def _retention_days(self, connection: Connection, team_id: str, *, missing_ok: bool = False) -> int:
        days = connection.execute(select(Team.retention_days).where(Team.id == team_id)).scalar()
        if days is None:
            if missing_ok:  # the team was removed: keep the default period
                return DEFAULT_RETENTION_DAYS
            raise ValueError(f"unknown team {team_id}")
        return max(0, int(days))

    def _content(self, conversation_id: str, owner_id: str | None) -> ConversationContent:
        condition = [Conversation.id == conversation_id]
        if owner_id is not None:
            condition.append(Conversation.owner_id == owner_id)
        with self.engine.connect() as connection:
            conversation = connection.execute(select(Conversation).where(*condition)).first()
            if conversation is None:
                raise ConversationNotFound()
            rows = connection.execute(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.seq)
            ).all()
        cipher = self.data_keys.cipher(conversation.data_key_id)
        owner = conversation.owner_id
        title = _open(
            cipher, conversation.title_nonce, conversation.title_ciphertext,
            title_aad(conversation_id, owner), f"conversation {conversation_id} title",
        )
        messages = tuple(
            StoredMessage(
                seq=row.seq,
                role=row.role,
                content=_open(
                    cipher, row.nonce, row.ciphertext,
                    message_aad(conversation_id, owner, row.seq, row.role),
                    f"conversation {conversation_id} message {row.seq}",
                ),
                model_id=row.model_id,
                created_at=_utc(row.created_at),
            )
            for row in rows
        )
        return ConversationContent(
            id=conversation_id,
            title=title,
            team_id=conversation.team_id,
            owner_id=owner,
            max_class=conversation.max_class,
            created_at=_utc(conversation.created_at),
            updated_at=_utc(conversation.updated_at),
            expires_at=_utc(conversation.expires_at),
            messages=messages,
        )

    def _rekey(
        self,
        connection: Connection,
        conversation_id: str,
        owner_id: str,
        old: AESGCM,
        new_key_id: str,
        new_cipher: AESGCM,
    ) -> None:
        """Move a conversation from a retired data key to the current one (in the caller's
        transaction, with the conversation's row already locked)."""
        title_nonce, title_ciphertext = connection.execute(
            select(Conversation.title_nonce, Conversation.title_ciphertext).where(Conversation.id == conversation_id)
        ).one()
        aad = title_aad(conversation_id, owner_id)
        title = _open(old, title_nonce, title_ciphertext, aad, f"conversation {conversation_id} title")
        nonce, ciphertext = _seal(new_cipher, title, aad)
        connection.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(data_key_id=new_key_id, title_nonce=nonce, title_ciphertext=ciphertext)
        )
        rows = connection.execute(
            select(ConversationMessage.seq, ConversationMessage.role, ConversationMessage.nonce, ConversationMessage.ciphertext)
            .where(ConversationMessage.conversation_id == conversation_id)
        ).all()
        for seq, role, message_nonce, message_ciphertext in rows:
            aad = message_aad(conversation_id, owner_id, seq, role)
            text = _open(old, message_nonce, message_ciphertext, aad, f"conversation {conversation_id} message {seq}")
            nonce, ciphertext = _seal(new_cipher, text, aad)
            connection.execute(
                update(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id, ConversationMessage.seq == seq)
                .values(nonce=nonce, ciphertext=ciphertext)
            )
