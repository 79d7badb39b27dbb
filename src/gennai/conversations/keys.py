"""Keys for conversation content: master keys (KEKs) and data keys (DEKs), envelope style.

Master keys are 32 random bytes, base64-encoded, one per line, in a file
(`content.master_key_file`, created by `gennai init` with mode 600) or in an environment
variable (`content.master_key_env`, lines or commas). The *last* key is the current one;
the others are kept only so that data keys wrapped by them can still be unwrapped. A master
key is named by its id: the first 16 hex characters of SHA-256 of the key bytes. Blank lines
and lines starting with `#` are ignored.

Data keys are AES-256-GCM keys stored in the `data_keys` table, each wrapped (encrypted) by
the current master key with AES-256-GCM: `wrapped_key` = 12-byte nonce ‖ ciphertext ‖ 16-byte
tag, with associated data binding it to its row (`data_key_id`, `master_key_id`), so a wrapped
key copied to another row does not unwrap. AES-GCM rather than RFC 3394 key wrap because it
takes associated data and is the same primitive as the content itself (docs/decisions/0014).

Rotation:
- Data keys: one current data key (`retired_at IS NULL`) encrypts new conversations; it is
  retired after `max_age_days` or on demand (`rotate_data_key`, `gennai content
  rotate-data-key`). Retired keys stay, to decrypt what they encrypted; a conversation moves
  to the current data key the next time a message is added to it.
- Master keys: `rewrap_data_keys` re-wraps every data key under the current master key
  (content is not re-encrypted). After that the older lines can be removed from the file
  (`gennai content rotate-master-key` appends a new key and re-wraps in one go).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select, update

from gennai.config import LoadedConfig
from gennai.store.tables import DataKey

KEY_BYTES = 32
NONCE_BYTES = 12
_WRAP_AAD = b"gennai/data-key/v1\x00"


class ContentKeyError(Exception):
    """A master-key or data-key problem, phrased in one line for an operator."""


class MasterKeyMissing(ContentKeyError):
    """A data key is wrapped by a master key that is not configured."""

    def __init__(self, master_key_id: str, data_key_id: str | None, source: str) -> None:
        self.master_key_id = master_key_id
        self.data_key_id = data_key_id
        what = f"data key {data_key_id} is wrapped by" if data_key_id else "needs"
        super().__init__(
            f"{what} master key {master_key_id}, which is not in {source}; "
            f"put that key back (as a line before the current one) to read this content"
        )


def master_key_id(key: bytes) -> str:
    """The public name of a master key: the first 16 hex characters of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


def generate_master_key() -> str:
    """A new master key, base64-encoded (one line of the key file)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


@dataclass(frozen=True, slots=True)
class MasterKey:
    id: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class MasterKeys:
    """The configured master keys; the last one is current. `reloaded()` reads the source
    again (the file may have gained a key since this process started)."""

    keys: tuple[MasterKey, ...]
    source: str = "the configured master keys"
    file: Path | None = None
    env_name: str | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            raise ContentKeyError(f"{self.source}: no master key")

    @classmethod
    def from_keys(cls, *keys: bytes, source: str = "the configured master keys") -> MasterKeys:
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ContentKeyError(f"{source}: a master key must be {KEY_BYTES} bytes")
        return cls(tuple(MasterKey(master_key_id(key), key) for key in keys), source)

    @property
    def current(self) -> MasterKey:
        return self.keys[-1]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key.id for key in self.keys)

    def find(self, key_id: str) -> MasterKey | None:
        for key in self.keys:
            if key.id == key_id:
                return key
        return None

    def get(self, key_id: str, *, data_key_id: str | None = None) -> MasterKey:
        key = self.find(key_id)
        if key is None:
            raise MasterKeyMissing(key_id, data_key_id, self.source)
        return key

    def reloaded(self) -> MasterKeys:
        if self.file is None and self.env_name is None:
            return self
        return read_master_keys(self.file, self.env_name)


def parse_master_keys(text: str, source: str) -> tuple[MasterKey, ...]:
    """Keys from the file or variable text; errors name the line, never the key."""
    keys: list[MasterKey] = []
    for number, line in enumerate(text.replace(",", "\n").splitlines(), start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            try:
                raw = base64.urlsafe_b64decode(value)
            except (binascii.Error, ValueError):
                raise ContentKeyError(f"{source}:{number}: not a base64-encoded key") from None
        if len(raw) != KEY_BYTES:
            raise ContentKeyError(f"{source}:{number}: a master key must be {KEY_BYTES} bytes (got {len(raw)})")
        keys.append(MasterKey(master_key_id(raw), raw))
    if not keys:
        raise ContentKeyError(f"{source}: no master key (one base64-encoded {KEY_BYTES}-byte key per line)")
    return tuple(keys)


def read_master_keys(file: Path | None, env_name: str | None) -> MasterKeys:
    """The master keys from the environment variable if one is named, else from the file."""
    if env_name:
        value = os.environ.get(env_name)
        if not value or not value.strip():
            raise ContentKeyError(f"the content master key variable {env_name} is not set")
        source = f"environment variable {env_name}"
        return MasterKeys(parse_master_keys(value, source), source, env_name=env_name)
    if file is None:
        raise ContentKeyError("no content master key configured (content.master_key_file or master_key_env)")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentKeyError(f"{file}: content master key file not found (run `gennai init`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentKeyError(f"{file}: cannot read the content master keys: {exc}") from None
    return MasterKeys(parse_master_keys(text, str(file)), str(file), file=file)


def ensure_master_key_file(path: Path) -> bool:
    """Create the master key file with one new key (mode 600) if it is missing; never
    overwrite one. True when it was created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_master_key() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


def append_master_key(path: Path) -> MasterKey:
    """Add a new key as the last (current) line of the file, replacing the file atomically
    (same folder, mode 600, fsynced). The older keys stay until removed by hand."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentKeyError(f"{path}: content master key file not found (run `gennai init`)") from None
    parse_master_keys(text, str(path))  # refuse to build on a damaged file
    line = generate_master_key()
    if text and not text.endswith("\n"):
        text += "\n"
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text + line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    raw = base64.b64decode(line)
    return MasterKey(master_key_id(raw), raw)


# -- wrapping ---------------------------------------------------------------------------


def _wrap_aad(data_key_id: str, master_id: str) -> bytes:
    return _WRAP_AAD + data_key_id.encode() + b"\x00" + master_id.encode()


def wrap_data_key(master: MasterKey, data_key_id: str, key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master.key).encrypt(nonce, key, _wrap_aad(data_key_id, master.id))


def unwrap_data_key(keys: MasterKeys, data_key_id: str, master_id: str, wrapped: bytes) -> bytes:
    master = keys.get(master_id, data_key_id=data_key_id)
    try:
        key = AESGCM(master.key).decrypt(wrapped[:NONCE_BYTES], bytes(wrapped[NONCE_BYTES:]), _wrap_aad(data_key_id, master_id))
    except InvalidTag:
        raise ContentKeyError(
            f"data key {data_key_id} does not unwrap with master key {master_id}: its row was altered"
        ) from None
    if len(key) != KEY_BYTES:
        raise ContentKeyError(f"data key {data_key_id} has the wrong length")
    return key


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_data_key_row(master: MasterKey, now: datetime) -> DataKey:
    data_key_id = str(uuid.uuid4())
    key = AESGCM.generate_key(bit_length=256)
    return DataKey(
        id=data_key_id,
        master_key_id=master.id,
        wrapped_key=wrap_data_key(master, data_key_id, key),
        created_at=_utc(now),
        retired_at=None,
    )


def rotate_data_key(engine: Engine, keys: MasterKeys, *, now: datetime | None = None) -> tuple[str, int]:
    """Retire every current data key and create a new one (wrapped by the current master key).
    Returns (the new data key's id, how many keys were retired)."""
    now = _utc(now or _now())
    row = _new_data_key_row(keys.current, now)
    with engine.begin() as connection:
        retired = connection.execute(
            update(DataKey).where(DataKey.retired_at.is_(None)).values(retired_at=now)
        ).rowcount
        connection.execute(DataKey.__table__.insert().values(**_row_values(row)))
    return row.id, int(retired or 0)


@dataclass(frozen=True, slots=True)
class RewrapResult:
    rewrapped: int
    total: int
    master_key_id: str


def data_key_master_ids(engine: Engine) -> dict[str, int]:
    """How many data keys each master key wraps."""
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for (master_id,) in connection.execute(select(DataKey.master_key_id)):
            counts[master_id] = counts.get(master_id, 0) + 1
    return counts


def rewrap_data_keys(engine: Engine, keys: MasterKeys) -> RewrapResult:
    """Re-wrap every data key under the current master key, in one transaction; content is
    not re-encrypted. A data key whose master key is missing stops it with MasterKeyMissing
    (nothing is changed then)."""
    current = keys.current
    rewrapped = 0
    with engine.begin() as connection:
        rows = connection.execute(
            select(DataKey.id, DataKey.master_key_id, DataKey.wrapped_key).order_by(DataKey.id).with_for_update()
        ).all()
        for data_key_id, master_id, wrapped in rows:
            if master_id == current.id:
                continue
            key = unwrap_data_key(keys, data_key_id, master_id, wrapped)
            connection.execute(
                update(DataKey)
                .where(DataKey.id == data_key_id, DataKey.master_key_id == master_id)
                .values(master_key_id=current.id, wrapped_key=wrap_data_key(current, data_key_id, key))
            )
            rewrapped += 1
    return RewrapResult(rewrapped=rewrapped, total=len(rows), master_key_id=current.id)


def _row_values(row: DataKey) -> dict[str, object]:
    return {
        "id": row.id,
        "master_key_id": row.master_key_id,
        "wrapped_key": row.wrapped_key,
        "created_at": row.created_at,
        "retired_at": row.retired_at,
    }


class DataKeyring:
    """Data keys for one process: the current one for new content (created when there is
    none, rotated when older than `max_age_days`), and any key by id for decryption.
    Unwrapped keys are kept in memory; thread-safe."""

    # How long the id of the current data key is trusted before asking the database again
    # (a rotation by another process is picked up within it).
    CURRENT_TTL_S = 60.0

    def __init__(
        self,
        engine: Engine,
        keys: MasterKeys,
        *,
        max_age_days: float = 90.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.max_age = timedelta(days=max_age_days)
        self.clock = clock
        self._lock = threading.Lock()
        self._ciphers: dict[str, AESGCM] = {}
        self._current: tuple[str, datetime, float] | None = None  # id, created_at, checked (monotonic)

    def forget_current(self) -> None:
        """Ask the database for the current data key on next use (after a rotation)."""
        self._current = None

    def current(self) -> tuple[str, AESGCM]:
        """The current data key (id, cipher), creating or rotating it when due."""
        now = _utc(self.clock())
        cached = self._current
        if cached is not None and time.monotonic() - cached[2] < self.CURRENT_TTL_S and now - cached[1] < self.max_age:
            return cached[0], self.cipher(cached[0])
        with self._lock:
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(DataKey.id, DataKey.created_at)
                    .where(DataKey.retired_at.is_(None))
                    .order_by(DataKey.created_at.desc(), DataKey.id.desc())
                    .limit(1)
                ).first()
            if row is None or now - _utc(row[1]) >= self.max_age:
                data_key_id, created_at = self._create(row[0] if row is not None else None, now)
            else:
                data_key_id, created_at = row[0], _utc(row[1])
            self._current = (data_key_id, created_at, time.monotonic())
        return data_key_id, self.cipher(data_key_id)

    def _create(self, retire: str | None, now: datetime) -> tuple[str, datetime]:
        # New data keys go under the file's current master key, even one added after start.
        self._reload()
        row = _new_data_key_row(self.keys.current, now)
        raced = False
        with self.engine.begin() as connection:
            if retire is not None:
                retired = connection.execute(
                    update(DataKey).where(DataKey.id == retire, DataKey.retired_at.is_(None)).values(retired_at=now)
                ).rowcount
                raced = not retired  # another worker rotated it first: use theirs
            if not raced:
                connection.execute(DataKey.__table__.insert().values(**_row_values(row)))
        return self._newest(now) if raced else (row.id, now)

    def _newest(self, now: datetime) -> tuple[str, datetime]:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(DataKey.id, DataKey.created_at)
                .where(DataKey.retired_at.is_(None))
                .order_by(DataKey.created_at.desc(), DataKey.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return self._create(None, now)
        return row[0], _utc(row[1])

    def cipher(self, data_key_id: str) -> AESGCM:
        """The AES-GCM cipher of a data key, unwrapping it once per process."""
        cipher = self._ciphers.get(data_key_id)
        if cipher is not None:
            return cipher
        with self.engine.connect() as connection:
            row = connection.execute(
                select(DataKey.master_key_id, DataKey.wrapped_key).where(DataKey.id == data_key_id)
            ).first()
        if row is None:
            raise ContentKeyError(f"data key {data_key_id} does not exist")
        master_id, wrapped = row
        if self.keys.find(master_id) is None:
            self._reload()  # the file may have gained that key since start
        cipher = AESGCM(unwrap_data_key(self.keys, data_key_id, master_id, wrapped))
        self._ciphers[data_key_id] = cipher
        return cipher

    def _reload(self) -> None:
        try:
            self.keys = self.keys.reloaded()
        except ContentKeyError:
            pass  # keep the keys we have; the caller's own error names what is missing


def load_master_keys(loaded: LoadedConfig) -> MasterKeys:
    """The master keys named by a configuration's [content] section."""
    content = loaded.config.content
    return read_master_keys(
        loaded.resolve(content.master_key_file) if content.master_key_file else None, content.master_key_env
    )
