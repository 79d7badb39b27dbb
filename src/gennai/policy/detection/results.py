"""The result types every detector returns (the public API other code is written against)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

ENTITY_TYPES = (
    "MY_NUMBER",
    "CORPORATE_NUMBER",
    "PHONE",
    "POSTAL_CODE",
    "EMAIL",
    "PASSPORT",
    "DRIVERS_LICENSE",
    "BANK_ACCOUNT",
    "BIRTH_DATE",
    "PERSON",
    "ADDRESS",
    "CUSTOM",
)


@dataclass(frozen=True, slots=True)
class Entity:
    """One item found. start/end: Python string offsets into the ORIGINAL text; preview is
    masked (the raw value is never kept here, so reprs and logs cannot leak it)."""

    type: str
    start: int
    end: int
    preview: str
    proposed_class: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Marking:
    """A handling marking; label is canonical ("機密性2", "取扱注意", "極秘", "課内限り" …)."""

    label: str
    start: int
    end: int
    proposed_class: int

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start, "end": self.end, "class": self.proposed_class}


@dataclass(frozen=True, slots=True)
class Detection:
    proposed_class: int
    entities: tuple[Entity, ...] = ()
    markings: tuple[Marking, ...] = ()
    reasons: tuple[str, ...] = ()

    def to_json(self, id: str | None = None) -> dict[str, Any]:  # noqa: A002 - the output field's name
        """The `gennai classify` output record."""
        return {
            "id": id,
            "class": self.proposed_class,
            "entities": [e.to_json() for e in self.entities],
            "markings": [m.to_json() for m in self.markings],
            "reasons": list(self.reasons),
        }


@runtime_checkable
class Detector(Protocol):
    """Anything that classifies text. Plugins (entry-point group ``gennai.detectors``)
    implement this; `name` identifies them in logs and `load_detector()`."""

    name: str

    def detect(self, text: str) -> Detection: ...
