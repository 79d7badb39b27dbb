"""Build corpus.jsonl from the annotated sources in source/*.md and validate every annotation.

    .venv/bin/python bench/data/classification/build.py          # writes corpus.jsonl, prints stats
    .venv/bin/python bench/data/classification/build.py --check  # validate only

Source format: a line ``## doc: <id> | genre: <genre> | class: <1|2|3>`` starts a document; its
text runs until the next such line (surrounding blank lines are dropped).  Lines starting with
``# `` before the first document are file comments.  Entities are written inline as
``[[TYPE:text]]``; the markup is removed and offsets are Python string offsets into the clean
text.  Validation: My Number and corporate number annotations must pass their check digits
(design note docs: 12 digits / check over the first 11; 13 digits / first digit checks the
other 12), and no *unannotated* 12-digit run may pass the My Number check (hard negatives are
meant to fail it), phones have 10/11 digits (or +81), postal codes 7 digits, e-mail domains
are example.* / lg.jp / go.jp test domains, passports two letters + 7 digits, licences 12
digits.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
OUT = HERE / "corpus.jsonl"

TYPES = ("MY_NUMBER", "CORPORATE_NUMBER", "PHONE", "POSTAL_CODE", "EMAIL", "PASSPORT", "DRIVERS_LICENSE",
         "BANK_ACCOUNT", "BIRTH_DATE", "PERSON", "ADDRESS", "CUSTOM")
GENRES = ("inquiry", "application", "minutes", "decision_draft", "deliberation", "procurement", "notice",
          "press_release", "chat_prompt", "marked_document", "internal_memo")
HEADER = re.compile(r"^## doc: (?P<id>[\w-]+) \| genre: (?P<genre>\w+) \| class: (?P<cls>[123])\s*$")
ENTITY = re.compile(r"\[\[(?P<type>[A-Z_]+):(?P<text>.+?)\]\]")


def my_number_check_digit(first11: str) -> int:
    s = 0
    for n in range(1, 12):
        p = int(first11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        s += p * q
    r = s % 11
    return 0 if r <= 1 else 11 - r


def corporate_check_digit(last12: str) -> int:
    s = 0
    for n in range(1, 13):
        s += int(last12[12 - n]) * (1 if n % 2 else 2)
    return 9 - (s % 9)


def is_my_number(d: str) -> bool:
    return len(d) == 12 and d.isdigit() and my_number_check_digit(d[:11]) == int(d[11])


def is_corporate_number(d: str) -> bool:
    return len(d) == 13 and d.isdigit() and corporate_check_digit(d[1:]) == int(d[0])


assert my_number_check_digit("12345678901") == 8 and my_number_check_digit("62149832025") == 7
assert is_corporate_number("8000012010038")


def norm_digits(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", s) if c.isdigit())


def validate(ent: dict, where: str) -> list[str]:
    t, s = ent["type"], ent["text"]
    n = unicodedata.normalize("NFKC", s)
    d = norm_digits(s)
    bad = None
    if t == "MY_NUMBER" and not is_my_number(d):
        bad = "fails the My Number check digit"
    elif t == "CORPORATE_NUMBER" and not is_corporate_number(d):
        bad = "fails the corporate number check digit"
    elif t == "PHONE":
        if n.startswith("+81"):
            ok = len(d) in (11, 12)
        else:
            ok = d.startswith("0") and (len(d) == 10 or (len(d) == 11 and d[:3] in ("090", "080", "070", "050")
                                                        or d.startswith("0800")))
        bad = None if ok else "not a well-formed phone number"
    elif t == "POSTAL_CODE" and len(d) != 7:
        bad = "postal code is not 7 digits"
    elif t == "EMAIL" and not re.fullmatch(r"[\w.+-]+@([\w-]+\.)*(example\.(jp|com|ne\.jp|co\.jp|go\.jp|lg\.jp)|"
                                           r"example\.lg\.jp|example\.go\.jp)", n):
        bad = "e-mail must use an example.* domain"
    elif t == "PASSPORT" and not re.fullmatch(r"[A-Z]{2}\d{7}", n):
        bad = "passport is not two letters + 7 digits"
    elif t == "DRIVERS_LICENSE" and len(d) != 12:
        bad = "licence is not 12 digits"
    elif t == "BANK_ACCOUNT" and len(d) not in (7, 13):
        bad = "bank account is neither 7 digits nor ゆうちょ 5+8"
    elif t not in TYPES:
        bad = "unknown type"
    if s != s.strip():
        bad = "entity text has surrounding whitespace"
    return [f"{where}: {t} {s!r}: {bad}"] if bad else []


def parse_file(path: Path) -> list[dict]:
    docs: list[dict] = []
    cur = None
    lines: list[str] = []

    def flush() -> None:
        if cur is not None:
            body = "\n".join(lines).strip("\n")
            docs.append({**cur, "raw": body, "file": path.name})

    for line in path.read_text(encoding="utf-8").splitlines():
        m = HEADER.match(line)
        if m:
            flush()
            cur = {"id": m["id"], "genre": m["genre"], "class": int(m["cls"])}
            lines = []
        elif cur is not None:
            lines.append(line)
        elif line.strip() and not line.startswith("# "):
            raise SystemExit(f"{path.name}: text before the first document: {line!r}")
    flush()
    return docs


def strip_markup(raw: str) -> tuple[str, list[dict]]:
    out, ents, pos = [], [], 0
    length = 0
    for m in ENTITY.finditer(raw):
        before = raw[pos:m.start()]
        out.append(before)
        length += len(before)
        text = m["text"]
        ents.append({"type": m["type"], "start": length, "end": length + len(text), "text": text})
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(raw[pos:])
    text = "".join(out)
    if "[[" in text or "]]" in text:
        raise SystemExit(f"unbalanced markup in: {raw[:80]!r}")
    return text, ents


def build() -> tuple[list[dict], list[str]]:
    errors: list[str] = []
    records: list[dict] = []
    seen: set[str] = set()
    for path in sorted(SOURCE.glob("*.md")):
        for doc in parse_file(path):
            where = f"{doc['file']}:{doc['id']}"
            if doc["id"] in seen:
                errors.append(f"{where}: duplicate id")
            seen.add(doc["id"])
            if doc["genre"] not in GENRES:
                errors.append(f"{where}: unknown genre {doc['genre']}")
            text, ents = strip_markup(doc["raw"])
            if not text.strip():
                errors.append(f"{where}: empty document")
            for e in ents:
                assert text[e["start"]:e["end"]] == e["text"]
                errors += validate(e, where)
            # hard negatives: unannotated 12-digit runs must fail the My Number check
            covered = [(e["start"], e["end"]) for e in ents]
            norm = unicodedata.normalize("NFKC", text)  # NFKC keeps the length of digits/hyphens used here
            for m in re.finditer(r"(?<!\d)\d{12}(?!\d)", norm):
                if any(s <= m.start() < e for s, e in covered):
                    continue
                if is_my_number(m.group()):
                    errors.append(f"{where}: unannotated 12-digit number {m.group()} passes the My Number check")
            records.append({"id": doc["id"], "genre": doc["genre"], "text": text, "class": doc["class"],
                            "entities": ents})
    return records, errors


def stats(records: list[dict]) -> str:
    lines = [f"documents: {len(records)}, characters: {sum(len(r['text']) for r in records):,}"]
    by_genre = Counter((r["genre"], r["class"]) for r in records)
    lines.append("documents per genre (class 1/2/3):")
    for g in GENRES:
        c = [by_genre.get((g, k), 0) for k in (1, 2, 3)]
        if sum(c):
            lines.append(f"  {g:16s} {sum(c):4d}  ({c[0]}/{c[1]}/{c[2]})")
    cls = Counter(r["class"] for r in records)
    lines.append(f"documents per class: 1={cls[1]} 2={cls[2]} 3={cls[3]}")
    hand = sum(1 for r in records if r["id"].startswith("h-"))
    lines.append(f"hand-written: {hand}, generated from templates: {len(records) - hand}")
    ents = Counter(e["type"] for r in records for e in r["entities"])
    lines.append("entities per type: " + ", ".join(f"{t}={ents.get(t, 0)}" for t in TYPES)
                 + f" (total {sum(ents.values())})")
    return "\n".join(lines)


def main() -> None:
    records, errors = build()
    if errors:
        print("\n".join(errors), file=sys.stderr)
        raise SystemExit(f"{len(errors)} validation error(s)")
    if "--check" not in sys.argv:
        with OUT.open("w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"wrote {OUT}")
    print(stats(records))


if __name__ == "__main__":
    main()
