"""Documents people attach: their text, extracted once, is what models see and what the
policy classifies."""

from gennai.documents.attachments import Attachment, inline_attachments
from gennai.documents.extract import DocumentError, document_kind, extract_text

__all__ = ["Attachment", "DocumentError", "document_kind", "extract_text", "inline_attachments"]
