"""Form definitions in the Gennai AI-app protocol's format, and the inputs submitted to them.

A form definition is a table whose keys are the request keys and whose values define one
field each (the same format 源内's 行政実務用AIアプリ register, see
shared/design/gennai-reference.md):

| type | parameters |
|---|---|
| `text`, `textarea` | `title`, `desc`, `required`, `min_length`, `max_length`, `default_value` |
| `number` | `title`, `desc`, `required`, `min`, `max`, `default_value` |
| `file` | `title`, `desc`, `required`, `accept` (HTML accept syntax), `multiple`, `max_size` ("4.5MB"; B, KB, MB, GB, 1024-based), `max_file_count` (default 100 if `multiple`, else 1) |
| `select`, `radio`, `checkbox` | `title`, `desc`, `required`, `items: [{title, value}]`, `default_value` |
| `hidden` | `default_value` (required) |

The inputs are what the interface posts as `{"inputs": {...}}`, with the protocol's quirks:
numbers as JSON numbers (a string of digits is accepted too), booleans as booleans, a checkbox
with several choices as one comma-joined string ("a,b"), and files not under their own key but
in `inputs["files"]`: a list of `{"key": <field>, "files": [{"filename", "content": <base64>}]}`
(`max_size` is checked against the base64 size). `validate_inputs` returns the clean values
or, for each field, a Japanese message to show next to it.
"""

from __future__ import annotations

import base64
import binascii
import math
import mimetypes
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

FIELD_TYPES = ("text", "textarea", "number", "file", "select", "radio", "checkbox", "hidden")
# Keys the protocol gives a meaning of its own: never a field of a general app.
RESERVED_KEYS = frozenset({"files", "conversation_history"})
FORM_ERROR_KEY = "_form"  # problems with the request itself rather than one field
DEFAULT_MAX_FILES_MULTIPLE = 100
MAX_FILENAME_CHARS = 200

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_ACCEPT_TOKEN = re.compile(r"^(\.[A-Za-z0-9][A-Za-z0-9._+-]*|[A-Za-z0-9.+-]+/(\*|[A-Za-z0-9.+-]+))$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# Media types the interface's files do not carry: by suffix, before the system's table.
_MEDIA_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Desc = Annotated[str, StringConstraints(max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_size(text: str) -> int:
    """"4.5MB" → bytes (1024-based); ValueError for anything else."""
    found = _SIZE.match(text)
    if not found:
        raise ValueError(f"'{text}' is not a size: write a number and B, KB, MB or GB, e.g. \"4.5MB\"")
    size = int(float(found.group(1)) * _UNITS[found.group(2).upper()])
    if size < 1:
        raise ValueError(f"'{text}' is not a usable size")
    return size


class Item(_Strict):
    title: Title
    value: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TextField(_Strict):
    type: Literal["text", "textarea"]
    title: Title
    desc: Desc | None = None
    required: bool = False
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1)] | None = None
    default_value: str | None = None

    @model_validator(mode="after")
    def _bounds(self) -> TextField:
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        if self.default_value is not None and self.max_length is not None and len(self.default_value) > self.max_length:
            raise ValueError("default_value is longer than max_length")
        return self


class NumberField(_Strict):
    type: Literal["number"]
    title: Title
    desc: Desc | None = None
    required: bool = False
    min: int | float | None = None
    max: int | float | None = None
    default_value: int | float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> NumberField:
        for name in ("min", "max", "default_value"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.default_value is not None and not _in_range(self.default_value, self.min, self.max):
            raise ValueError("default_value is outside min..max")
        return self


class FileField(_Strict):
    type: Literal["file"]
    title: Title
    desc: Desc | None = None
    required: bool = False
    accept: str | None = None
    multiple: bool = False
    max_size: str | None = None
    max_file_count: Annotated[int, Field(ge=1)] | None = None

    @field_validator("accept")
    @classmethod
    def _accept(cls, value: str | None) -> str | None:
        if value is None:
            return None
        tokens = accept_tokens(value)
        if not tokens:
            raise ValueError("accept is empty: leave it out to accept any file")
        for token in tokens:
            if not _ACCEPT_TOKEN.match(token):
                raise ValueError(f"'{token}' is not in HTML accept syntax (.pdf, application/pdf, text/*)")
        return value

    @field_validator("max_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None:
            parse_size(value)
        return value

    @model_validator(mode="after")
    def _count(self) -> FileField:
        if not self.multiple and self.max_file_count is not None and self.max_file_count > 1:
            raise ValueError("max_file_count above 1 needs multiple = true")
        return self

    @property
    def max_bytes(self) -> int | None:
        """The limit on each file's base64 size, in bytes."""
        return parse_size(self.max_size) if self.max_size else None

    @property
    def max_files(self) -> int:
        if self.max_file_count is not None:
            return self.max_file_count
        return DEFAULT_MAX_FILES_MULTIPLE if self.multiple else 1


class ChoiceField(_Strict):
    type: Literal["select", "radio", "checkbox"]
    title: Title
    desc: Desc | None = None
    required: bool = False
    items: Annotated[list[Item], Field(min_length=1, max_length=200)]
    default_value: str | None = None

    @model_validator(mode="after")
    def _items(self) -> ChoiceField:
        values = [item.value for item in self.items]
        if len(set(values)) != len(values):
            raise ValueError("items: two items have the same value")
        if self.type == "checkbox":
            for value in values:
                if "," in value:
                    raise ValueError(f"items: the checkbox value '{value}' holds a comma (the protocol joins choices with ',')")
        if self.default_value:
            chosen = self.default_value.split(",") if self.type == "checkbox" else [self.default_value]
            for value in chosen:
                if value.strip() not in values:
                    raise ValueError(f"default_value '{value}' is not the value of an item")
        return self

    def title_of(self, value: str) -> str:
        for item in self.items:
            if item.value == value:
                return item.title
        return value


class HiddenField(_Strict):
    type: Literal["hidden"]
    default_value: str | int | float | bool


FormField = Annotated[TextField | NumberField | FileField | ChoiceField | HiddenField, Field(discriminator="type")]
Form = dict[str, FormField]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file submitted to a file field, validated; its content stays base64."""

    filename: str
    media_type: str
    content_b64: str
    size: int  # decoded bytes

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.content_b64}"


@dataclass(frozen=True, slots=True)
class FormResult:
    """Clean values by key (text: str; number: int or float; select/radio: the item's value;
    checkbox: the chosen values, in the items' order; file: a list of UploadedFile; hidden:
    its default_value; an empty optional field: None, [] for checkbox and file), or the errors
    by key (FORM_ERROR_KEY for the request as a whole)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # The clean values of the fields that passed, even when others did not: what a preview
    # of a form still being filled in renders (never what a run sends).
    passed: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def accept_tokens(accept: str) -> list[str]:
    return [token.strip().lower() for token in accept.split(",") if token.strip()]


def media_type_for(filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix in _MEDIA_TYPES:
        return _MEDIA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def accepts(accept: str | None, filename: str, media_type: str) -> bool:
    """Whether a file matches an HTML accept list, by extension or media type."""
    if not accept:
        return True
    suffix = PurePosixPath(filename.lower()).suffix
    media = media_type.lower()
    for token in accept_tokens(accept):
        if token.startswith("."):
            if suffix == token:
                return True
        elif token.endswith("/*"):
            if media.startswith(token[:-1]):
                return True
        elif media == token:
            return True
    return False


def validate_inputs(
    form: Mapping[str, FormField], inputs: Mapping[str, Any], *, one_of: Sequence[Sequence[str]] = ()
) -> FormResult:
    """Check submitted inputs against a form definition. Keys the form does not define are
    ignored (an interface may send more than a general app asks for); a hidden field always
    carries its definition's value. `one_of`: groups of fields of which at least one must be
    filled (e.g. a text or a file)."""
    if not isinstance(inputs, Mapping):
        return FormResult(errors={FORM_ERROR_KEY: "入力の形式が正しくありません。"})
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    files, file_errors = _collect_files(form, inputs.get("files"))
    errors.update(file_errors)
    for key, definition in form.items():
        if key in errors:
            continue
        try:
            if isinstance(definition, HiddenField):
                values[key] = definition.default_value
            elif isinstance(definition, FileField):
                values[key] = _file_value(definition, files.get(key, []))
            elif key not in inputs and getattr(definition, "default_value", None) is not None:
                values[key] = _value(definition, definition.default_value)
            else:
                values[key] = _value(definition, inputs.get(key))
        except _Invalid as invalid:
            errors[key] = str(invalid)
    for group in one_of:
        if any(key in errors for key in group):
            continue
        if not any(values.get(key) not in (None, "", []) for key in group):
            titles = "・".join(f"「{_title(form[key])}」" for key in group if key in form)
            for key in group:
                errors[key] = f"{titles}のどれか一つを入力してください。"
    passed = {key: value for key, value in values.items() if key not in errors}
    return FormResult(values if not errors else {}, errors, passed)


class _Invalid(ValueError):
    pass


def _title(definition: FormField) -> str:
    return getattr(definition, "title", "")


def _in_range(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _number_text(value: float | None) -> str:
    """A limit as shown in a message: 1,000 or 0.5."""
    if value is None:
        return ""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def _plain_number(value: float) -> str:
    """A number as the digits typed: 12, 12.5 (no separators)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def _value(definition: FormField, raw: Any) -> Any:
    if isinstance(definition, TextField):
        return _text(definition, raw)
    if isinstance(definition, NumberField):
        return _number(definition, raw)
    assert isinstance(definition, ChoiceField)
    if definition.type == "checkbox":
        return _checkbox(definition, raw)
    return _choice(definition, raw)


def _text(definition: TextField, raw: Any) -> str | None:
    if raw is None:
        raw = ""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _Invalid("文字で入力してください。")
    text = raw if isinstance(raw, str) else _plain_number(raw)
    if "\x00" in text:
        raise _Invalid("使えない文字が含まれています。")
    if not text.strip():
        if definition.required:
            raise _Invalid("入力してください。")
        return None
    if definition.type == "text" and ("\n" in text or "\r" in text):
        text = " ".join(text.splitlines())
    if definition.max_length is not None and len(text) > definition.max_length:
        raise _Invalid(f"{definition.max_length:,}文字以内で入力してください（現在{len(text):,}文字）。")
    if definition.min_length is not None and len(text) < definition.min_length:
        raise _Invalid(f"{definition.min_length:,}文字以上で入力してください（現在{len(text):,}文字）。")
    return text


def _number(definition: NumberField, raw: Any) -> int | float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if definition.required:
            raise _Invalid("数値を入力してください。")
        return None
    if isinstance(raw, bool):
        raise _Invalid("数値を入力してください。")
    if isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).strip().replace(",", "").replace("−", "-")
        if not _NUMBER.match(text):
            raise _Invalid("数値を入力してください。")
        raw = float(text)
    if not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise _Invalid("数値を入力してください。")
    number: int | float = int(raw) if float(raw).is_integer() and abs(raw) < 2**53 else float(raw)
    if definition.min is not None and number < definition.min:
        raise _Invalid(f"{_number_text(definition.min)}以上の数値を入力してください。")
    if definition.max is not None and number > definition.max:
        raise _Invalid(f"{_number_text(definition.max)}以下の数値を入力してください。")
    return number


def _as_choice(raw: Any) -> str:
    """A choice as the string it stands for (an interface may send "1" as 1)."""
    if isinstance(raw, bool):
        raise _Invalid("選択肢から選んでください。")
    if isinstance(raw, (int, float)):
        return _plain_number(raw)
    if isinstance(raw, str):
        return raw.strip()
    raise _Invalid("選択肢から選んでください。")


def _choice(definition: ChoiceField, raw: Any) -> str | None:
    value = "" if raw is None else _as_choice(raw)
    if not value:
        if definition.required:
            raise _Invalid("選択してください。")
        return None
    if value not in {item.value for item in definition.items}:
        raise _Invalid("選択肢にない値です。選択肢から選んでください。")
    return value


def _checkbox(definition: ChoiceField, raw: Any) -> list[str]:
    values = [item.value for item in definition.items]
    if raw is None or raw is False:
        chosen: list[str] = []
    elif raw is True:  # a single tick box, sent as a boolean
        if len(values) != 1:
            raise _Invalid("選択肢から選んでください。")
        chosen = values[:]
    elif isinstance(raw, str):
        chosen = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list):
        chosen = [_as_choice(part) for part in raw]
    else:
        raise _Invalid("選択肢から選んでください。")
    unknown = [value for value in chosen if value not in values]
    if unknown:
        raise _Invalid("選択肢にない値が含まれています。選択肢から選んでください。")
    if not chosen and definition.required:
        raise _Invalid("一つ以上選択してください。")
    return [value for value in values if value in chosen]


def _collect_files(form: Mapping[str, FormField], raw: Any) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """The protocol's `inputs.files` list, grouped by key (not yet checked file by file)."""
    found: dict[str, list[Any]] = {}
    errors: dict[str, str] = {}
    if raw is None:
        return found, errors
    if not isinstance(raw, list):
        return found, {FORM_ERROR_KEY: "ファイルの送り方が正しくありません（files は一覧にします）。"}
    for entry in raw:
        key = entry.get("key") if isinstance(entry, dict) else None
        files = entry.get("files") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not isinstance(files, list):
            errors[FORM_ERROR_KEY] = "ファイルの送り方が正しくありません（key と files が必要です）。"
            continue
        if key not in form:
            continue  # like any key the form does not define
        if not isinstance(form[key], FileField):
            errors[key] = "この欄にはファイルを添付できません。"
            continue
        found.setdefault(key, []).extend(files)
    return found, errors


def _file_value(definition: FileField, files: list[Any]) -> list[UploadedFile]:
    if not files:
        if definition.required:
            raise _Invalid("ファイルを添付してください。")
        return []
    if len(files) > definition.max_files:
        raise _Invalid(f"ファイルは{definition.max_files}個まで添付できます（現在{len(files)}個）。")
    limit = definition.max_bytes
    out: list[UploadedFile] = []
    for file in files:
        if not isinstance(file, dict) or not isinstance(file.get("content"), str):
            raise _Invalid("ファイルの送り方が正しくありません（filename と content が必要です）。")
        filename = _filename(file.get("filename"))
        content: str = file["content"]
        media_type = None
        if content.startswith("data:"):
            header, sep, content = content.partition(",")
            media_type = header[5:].split(";")[0].strip().lower() or None
            if not sep or ";base64" not in header:
                raise _Invalid(f"「{filename}」の内容が base64 になっていません。")
        content = "".join(content.split())
        if limit is not None and len(content) > limit:
            raise _Invalid(
                f"「{filename}」はファイルサイズの上限（{definition.max_size}）を超えています。"
            )
        try:
            size = len(base64.b64decode(content, validate=True))
        except (binascii.Error, ValueError):
            raise _Invalid(f"「{filename}」の内容（base64）が正しくありません。") from None
        if size == 0:
            raise _Invalid(f"「{filename}」は空のファイルです。")
        media_type = media_type or media_type_for(filename)
        if not accepts(definition.accept, filename, media_type):
            allowed = "、".join(accept_tokens(definition.accept or ""))
            raise _Invalid(f"「{filename}」はこの欄では使えない形式です（使える形式: {allowed}）。")
        out.append(UploadedFile(filename, media_type, content, size))
    return out


def _filename(raw: Any) -> str:
    """The file's own name: no folders (browsers may send C:\\fakepath\\…), no control characters."""
    if not isinstance(raw, str) or not raw.strip():
        return "添付ファイル"
    name = PureWindowsPath(raw.strip()).name
    name = PurePosixPath(name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name[:MAX_FILENAME_CHARS] or "添付ファイル"


def display_text(definition: FormField, value: Any) -> str:
    """How a clean value is written into a prompt: a choice's title(s), file names, digits."""
    if value is None:
        return ""
    if isinstance(definition, ChoiceField):
        chosen = value if isinstance(value, list) else [value]
        return "、".join(definition.title_of(v) for v in chosen)
    if isinstance(definition, FileField):
        return "、".join(f"「{file.filename}」" for file in value)
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


__all__ = [
    "FIELD_TYPES",
    "FORM_ERROR_KEY",
    "RESERVED_KEYS",
    "ChoiceField",
    "FileField",
    "Form",
    "FormField",
    "FormResult",
    "HiddenField",
    "Item",
    "NumberField",
    "TextField",
    "UploadedFile",
    "accepts",
    "display_text",
    "media_type_for",
    "parse_size",
    "validate_inputs",
]
