"""Conversation memory for the policy: once a conversation has carried 機密性2 content, every
later turn is treated as at least 機密性2, even if the client stops resending the history.

Conversations are named by the client (`"gennai": {"conversation_id": "..."}`) and scoped to
their owner (the user behind the API key), so one caller cannot read or lower another's.
The class is stored in the database, so every worker sees the same value.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gennai.store.tables import ConversationClass

_TABLE = ConversationClass.__table__


class ConversationClasses:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"conversation classes need SQLite or PostgreSQL, not {dialect}")
        self._insert = pg_insert if dialect == "postgresql" else sqlite_insert
        self._greatest = func.greatest if dialect == "postgresql" else func.max

    def get(self, owner: str, conversation_id: str) -> int:
        """The class the conversation has reached (1 for a new one)."""
        with Session(self.engine) as session:
            value = session.scalar(
                select(ConversationClass.max_class).where(
                    ConversationClass.owner == owner, ConversationClass.conversation_id == conversation_id
                )
            )
        return int(value or 1)

    def raise_to(self, owner: str, conversation_id: str, klass: int) -> None:
        """Record that the conversation carried content of `klass`; never lowers it."""
        if klass <= 1:
            return
        statement = self._insert(_TABLE).values(
            owner=owner, conversation_id=conversation_id, max_class=klass, updated_at=datetime.now(UTC)
        )
        statement = statement.on_conflict_do_update(
            index_elements=["owner", "conversation_id"],
            set_={
                "max_class": self._greatest(_TABLE.c.max_class, statement.excluded.max_class),
                "updated_at": statement.excluded.updated_at,
            },
        )
        with self.engine.begin() as connection:
            connection.execute(statement)
