"""Conversation content at rest: encrypted (AES-256-GCM envelope encryption), read only by
its owner (admins do not read content; an auditor only through an audited, reasoned
access), deleted on the team's retention period by the retention job or by its owner."""

from gennai.conversations.keys import (
    ContentKeyError,
    DataKeyring,
    MasterKey,
    MasterKeyMissing,
    MasterKeys,
    RewrapResult,
    append_master_key,
    ensure_master_key_file,
    load_master_keys,
    master_key_id,
    read_master_keys,
    rewrap_data_keys,
    rotate_data_key,
)
from gennai.conversations.retention import RetentionJob
from gennai.conversations.store import (
    AuditorAccessDenied,
    AuditUnavailable,
    ContentIntegrityError,
    ConversationContent,
    ConversationError,
    ConversationNotFound,
    ConversationStore,
    ConversationSummary,
    ReasonRequired,
    StoredMessage,
)

__all__ = [
    "AuditUnavailable",
    "AuditorAccessDenied",
    "ContentIntegrityError",
    "ContentKeyError",
    "ConversationContent",
    "ConversationError",
    "ConversationNotFound",
    "ConversationStore",
    "ConversationSummary",
    "DataKeyring",
    "MasterKey",
    "MasterKeyMissing",
    "MasterKeys",
    "ReasonRequired",
    "RetentionJob",
    "RewrapResult",
    "StoredMessage",
    "append_master_key",
    "ensure_master_key_file",
    "load_master_keys",
    "master_key_id",
    "read_master_keys",
    "rewrap_data_keys",
    "rotate_data_key",
]
