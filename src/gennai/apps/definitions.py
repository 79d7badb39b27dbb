"""General apps defined declaratively: one TOML file per app, its id the file's name.

    src/gennai/apps/general/translation.toml   → the app "translation"

A file holds the app's title and description (purpose, cautions, example inputs), an
optional icon, its form (`[form.<key>]` tables in the Gennai AI-app protocol's form
definition format, see gennai.apps.forms), its prompt (`[prompt]`: `system` and `user`
templates with `{field}` placeholders, see gennai.apps.prompts) and routing hints: `task`
(PolicyRequest.task, which `[[policy.rules]]` can match with `tasks = [...]`), `min_class`
(the app's declared minimum class, PolicyRequest.app_class), `temperature`, `max_tokens`.
The format is documented in docs/apps.md.

`load_apps(folders)` reads every `*.toml` of each folder (later folders replace apps of the
same id: a deployment can override a shipped app). A broken file never stops the server: it
is logged and skipped, and its one-line error ("FILE:LINE: field: reason") is in the result's
`errors`.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, ValidationError, field_validator, model_validator

from gennai.apps.forms import (
    FIELD_TYPES,
    RESERVED_KEYS,
    ChoiceField,
    FileField,
    FormField,
    FormResult,
    HiddenField,
    display_text,
    validate_inputs,
)
from gennai.apps.prompts import NAME, Template, TemplateError, parse, render
from gennai.config import locate_line

log = logging.getLogger("gennai.apps")

GENERAL_APPS_DIR = Path(__file__).parent / "general"
COMMON_TEAM = "common"  # the common team's name (gennai.accounts.teams.COMMON_TEAM_NAME)
APP_ID = r"^[a-z][a-z0-9_-]{0,63}$"
MAX_FILE_BYTES = 256 * 1024
# Keys the loader sets itself: an app file that writes them is wrong.
_DERIVED = ("id", "source")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(_Strict):
    """`system`: the system message (optional); `user`: the user message. Both templates."""

    system: Annotated[str, Field(max_length=20_000)] = ""
    user: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]

    @field_validator("system", "user")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(value)  # raises TemplateError (a ValueError) naming the problem
        return value


class AppDefinition(_Strict):
    id: Annotated[str, Field(pattern=APP_ID)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    # Markdown: purpose, cautions, example inputs. Its first line is the one-line summary.
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
    icon: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")] | None = None
    # Where the app is listed (lower first; then by id).
    order: Annotated[int, Field(ge=0, le=100_000)] = 1000
    # Who may use it: no teams = a general app for everyone; team names (accounts.teams
    # TEAM_NAME) = those teams' members; "common" = an app of the common team, for everyone.
    teams: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]{1,62}$")]], Field(max_length=100)] = Field(
        default_factory=list
    )
    # Routing hints.
    task: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] | None = None
    min_class: Literal[1, 2, 3] = 1
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    max_tokens: Annotated[int, Field(ge=1, le=200_000)] | None = None
    # Groups of fields of which at least one must be filled (e.g. a text or a file).
    require_one_of: list[Annotated[list[str], Field(min_length=2)]] = Field(default_factory=list)
    form: Annotated[dict[str, FormField], Field(min_length=1, max_length=50)]
    prompt: Prompt
    # The file it was read from (set by the loader).
    source: str | None = None
    _templates: dict[str, Template] = PrivateAttr(default_factory=dict)

    @field_validator("form")
    @classmethod
    def _keys(cls, form: dict[str, FormField]) -> dict[str, FormField]:
        for key in form:
            if key in RESERVED_KEYS:
                raise ValueError(f"'{key}' is reserved by the AI-app protocol and cannot be a field of a general app")
            if not re.fullmatch(NAME, key):
                raise ValueError(f"'{key}' is not a usable key: letters, digits and _, not starting with a digit")
        if all(isinstance(field, HiddenField) for field in form.values()):
            raise ValueError("the form has no visible field")
        return form

    @model_validator(mode="after")
    def _references(self) -> AppDefinition:
        for group in self.require_one_of:
            for key in group:
                if key not in self.form:
                    raise ValueError(f"require_one_of: '{key}' is not a field of the form")
        for part in ("system", "user"):
            template = self.template(part)
            for name, value in template.references():
                field = self.form.get(name)
                if field is None:
                    raise ValueError(f"prompt.{part}: '{{{name}}}' is not a field of the form")
                if value is not None and isinstance(field, ChoiceField) and value not in {i.value for i in field.items}:
                    raise ValueError(f"prompt.{part}: '{value}' is not the value of an item of '{name}'")
        return self

    # -- use -------------------------------------------------------------------------------
    def template(self, part: str) -> Template:
        """The parsed `system` or `user` template (parsed once)."""
        template = self._templates.get(part)
        if template is None:
            template = self._templates[part] = parse(getattr(self.prompt, part))
        return template

    def audience(self, team_names: Iterable[str]) -> str | None:
        """How a person in these teams may use the app: "general" (an app for everyone),
        "common" (the common team's), "team" (one of their teams'), or None (not theirs)."""
        if not self.teams:
            return "general"
        if COMMON_TEAM in self.teams:
            return "common"
        return "team" if set(self.teams).intersection(team_names) else None

    @property
    def summary(self) -> str:
        """The description's first line (for the list of apps)."""
        return self.description.splitlines()[0].strip().lstrip("#").strip()

    @property
    def file_fields(self) -> list[str]:
        return [key for key, field in self.form.items() if isinstance(field, FileField)]

    def validate_inputs(self, inputs: Mapping[str, Any]) -> FormResult:
        """The submitted inputs checked against this app's form (and require_one_of)."""
        return validate_inputs(self.form, inputs, one_of=self.require_one_of)

    def render(self, values: Mapping[str, Any]) -> tuple[str, str]:
        """(system, user) with the clean values of validate_inputs; inserted as plain text."""
        texts = {key: display_text(field, values.get(key)) for key, field in self.form.items()}
        return render(self.template("system"), values, texts).strip(), render(self.template("user"), values, texts).strip()

    def form_definition(self) -> dict[str, Any]:
        """The form as the protocol's JSON (what the web interface renders)."""
        return {key: field.model_dump(exclude_none=True) for key, field in self.form.items()}

    def to_json(self) -> dict[str, Any]:
        """What the web interface needs to list the app and render its form (not the prompt)."""
        return {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "description": self.description,
            "icon": self.icon,
            "task": self.task,
            "min_class": self.min_class,
            "teams": list(self.teams),
            "form": self.form_definition(),
            "require_one_of": [list(group) for group in self.require_one_of],
        }


class LoadedApps(dict[str, AppDefinition]):
    """The apps by id (in listing order) and the one-line error of every file skipped."""

    def __init__(self, apps: Iterable[tuple[str, AppDefinition]] = (), errors: Sequence[str] = ()) -> None:
        super().__init__(apps)
        self.errors: list[str] = list(errors)

    def for_teams(self, team_names: Iterable[str]) -> list[tuple[AppDefinition, str]]:
        """The apps a member of these teams may use, in listing order, each with its audience
        ("general", "team" or "common"; see AppDefinition.audience)."""
        names = set(team_names)
        out = []
        for app in self.values():
            audience = app.audience(names)
            if audience is not None:
                out.append((app, audience))
        return out

    def usable(self, app_id: str, team_names: Iterable[str]) -> AppDefinition | None:
        """The app if a member of these teams may use it (else None: to them it does not exist)."""
        app = self.get(app_id)
        return app if app is not None and app.audience(team_names) is not None else None


def load_apps(folders: Sequence[Path]) -> LoadedApps:
    """Every app of the folders, by id; later folders replace apps of the same id. Broken
    files are logged and skipped; `result.errors` holds one line for each."""
    found: dict[str, AppDefinition] = {}
    errors: list[str] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            errors.append(f"{folder}: folder: not found or not a folder")
            log.warning("app folder skipped: %s", errors[-1])
            continue
        for path in sorted(folder.glob("*.toml")):
            if path.name.startswith("."):
                continue
            try:
                app = load_app(path)
            except AppFileError as error:
                errors.append(str(error))
                log.warning("app file skipped: %s", error)
                continue
            if app.id in found:
                log.info("app '%s' from %s replaces the one from %s", app.id, path, found[app.id].source)
            found[app.id] = app
    ordered = sorted(found.values(), key=lambda app: (app.order, app.id))
    return LoadedApps(((app.id, app) for app in ordered), errors)


class AppFileError(ValueError):
    """One app file that cannot be used: "FILE[:LINE]: field: reason"."""


def load_app(path: Path) -> AppDefinition:
    """One app file; raises AppFileError with one line naming the file, field and reason."""
    path = Path(path)
    app_id = path.stem
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AppFileError(f"{path}: file: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise AppFileError(f"{path}: file: larger than {MAX_FILE_BYTES // 1024} KB")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise AppFileError(f"{path}: file: not UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AppFileError(f"{path}: toml: {exc}") from None
    if not re.fullmatch(APP_ID, app_id):
        raise AppFileError(
            f"{path}: id: the file name '{app_id}' is not a usable app id "
            "(lower-case letters, digits, - and _, starting with a letter)"
        )
    for key in _DERIVED:
        if key in data:
            line = locate_line(text, (key,))
            where = f"{path}:{line}" if line else str(path)
            raise AppFileError(f"{where}: {key}: set by gennai (the id is the file's name); remove it")
    try:
        return AppDefinition.model_validate({**data, "id": app_id, "source": str(path)})
    except ValidationError as exc:
        raise AppFileError(_describe(exc, path, text)) from None


def _describe(exc: ValidationError, path: Path, text: str) -> str:
    problems = exc.errors()
    first = problems[0]
    loc = _clean_loc(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not loc and ": " in message and message.split(": ", 1)[0].replace(".", "").replace("_", "").isalnum():
        field, message = message.split(": ", 1)  # "prompt.user: …" raised by a model validator
        where_loc: tuple[Any, ...] = tuple(field.split("."))
    else:
        field, where_loc = _format_loc(loc), loc
    line = locate_line(text, where_loc) if where_loc else None
    where = f"{path}:{line}" if line else str(path)
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"{where}: {field or 'app'}: {message}{more}"


def _clean_loc(loc: Sequence[Any]) -> tuple[Any, ...]:
    """A validation location without the discriminator's tag (form.kind.select.items → form.kind.items)."""
    parts = list(loc)
    if len(parts) >= 3 and parts[0] == "form" and parts[2] in FIELD_TYPES:
        del parts[2]
    return tuple(parts)


def _format_loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


__all__ = [
    "GENERAL_APPS_DIR",
    "AppDefinition",
    "AppFileError",
    "LoadedApps",
    "Prompt",
    "TemplateError",
    "load_app",
    "load_apps",
]
