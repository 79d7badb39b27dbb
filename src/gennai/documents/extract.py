"""Plain text out of an attached document: text files in any common Japanese encoding, PDF,
Word (.docx) and Excel (.xlsx). Everything a model would see of a document is this text, so
it is also what the policy classifies.

Nothing here trusts the file: sizes are bounded by the caller, parsers run on bytes in
memory, and every failure becomes a `DocumentError` with a message for the user.
"""

from __future__ import annotations

import io
import logging
from pathlib import PurePosixPath

from charset_normalizer import from_bytes

# What can be read, by media type and by file-name suffix.
TEXT_TYPES = {
    "text/plain", "text/markdown", "text/csv", "text/tab-separated-values", "text/html", "text/xml",
    "application/json", "application/xml", "application/csv",
}
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".jsonl", ".xml", ".html", ".htm", ".log"}
PDF_TYPES, PDF_SUFFIXES = {"application/pdf"}, {".pdf"}
DOCX_TYPES = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
DOCX_SUFFIXES = {".docx"}
XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
XLSX_SUFFIXES = {".xlsx"}

SUPPORTED = "テキスト（.txt .md .csv .json など）、PDF、Word（.docx）、Excel（.xlsx） / text, PDF, .docx, .xlsx"

logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable PDFs are common


class DocumentError(ValueError):
    """A document that cannot be read, with a message for the person who attached it."""


def document_kind(filename: str | None, media_type: str | None) -> str | None:
    """"text", "pdf", "docx", "xlsx", or None when the type is not supported."""
    suffix = PurePosixPath(filename or "").suffix.lower()
    media = (media_type or "").split(";")[0].strip().lower()
    for kind, types, suffixes in (
        ("pdf", PDF_TYPES, PDF_SUFFIXES),
        ("docx", DOCX_TYPES, DOCX_SUFFIXES),
        ("xlsx", XLSX_TYPES, XLSX_SUFFIXES),
        ("text", TEXT_TYPES, TEXT_SUFFIXES),
    ):
        if media in types or suffix in suffixes:
            return kind
    if media.startswith("text/"):
        return "text"
    return None


def extract_text(data: bytes, filename: str | None = None, media_type: str | None = None) -> str:
    """The document's text. Raises DocumentError for an unsupported or unreadable file."""
    kind = document_kind(filename, media_type)
    name = filename or "添付ファイル"
    if kind is None:
        raise DocumentError(f"「{name}」はこの形式に対応していません（対応: {SUPPORTED}）")
    try:
        if kind == "pdf":
            return _pdf(data)
        if kind == "docx":
            return _docx(data)
        if kind == "xlsx":
            return _xlsx(data)
        return decode_text(data, name)
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file, not a crash
        raise DocumentError(f"「{name}」を読み取れませんでした（壊れているか、形式が違います） / cannot read {name}: {type(exc).__name__}") from None


def decode_text(data: bytes, name: str = "添付ファイル") -> str:
    """UTF-8 (with or without BOM) first, then Shift_JIS (cp932) and EUC-JP, then detection."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp932", "euc_jp"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None or b"\x00" in data[:4096]:
        raise DocumentError(f"「{name}」は文字コードを判別できませんでした / cannot tell the text encoding of {name}")
    return str(best)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise DocumentError("パスワード付きのPDFは読み取れません / password-protected PDFs cannot be read")
    pages = [page.extract_text() or "" for page in reader.pages]
    text = "\n\n".join(p.strip() for p in pages).strip()
    if not text:
        raise DocumentError("PDFに文字がありません（画像だけのPDFは読み取れません） / the PDF holds no text (scanned images cannot be read)")
    return text


def _docx(data: bytes) -> str:
    from docx import Document

    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    for section in document.sections:  # headers carry handling markings (機密性2 …)
        for paragraph in (*section.header.paragraphs, *section.footer.paragraphs):
            if paragraph.text.strip():
                parts.insert(0, paragraph.text)
    return "\n".join(parts).strip()


def _xlsx(data: bytes) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    lines: list[str] = []
    try:
        for sheet in workbook.worksheets:
            lines.append(f"# {sheet.title}")
            for row in sheet.iter_rows(values_only=True):
                cells = ["" if value is None else str(value) for value in row]
                if any(cells):
                    lines.append("\t".join(cells).rstrip("\t"))
    finally:
        workbook.close()
    return "\n".join(lines).strip()
