"""Attached documents: read once (text, PDF, Word, Excel), classified like typed text, their
declared class a floor of its own, and sent to models as text."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest

from gennai.documents import DocumentError, extract_text
from gennai.documents.attachments import inline_attachments
from gennai.gateway.errors import InvalidRequest
from gennai.policy.content import chat_content
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_policy_routing import RULES, models

MARKED = "【取扱注意】\n令和7年度 予算要求の内部検討資料\n担当: 企画課"


def docx_bytes(body: str, header: str | None = None) -> bytes:
    from docx import Document

    document = Document()
    if header:
        document.sections[0].header.paragraphs[0].text = header
    for line in body.splitlines():
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "連絡先"
    table.rows[0].cells[1].text = "企画課"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "名簿"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def pdf_bytes(lines: list[str]) -> bytes:
    """A one-page PDF with ASCII text, written by hand (Helvetica, no font files needed)."""
    text = "BT /F1 12 Tf 50 750 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode() + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def file_part(name: str, data: bytes, media_type: str = "application/octet-stream", **extra: Any) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode()
    return {"type": "file", "file": {"filename": name, "file_data": f"data:{media_type};base64,{encoded}", **extra}}


# -- reading documents ---------------------------------------------------------------------

def test_text_in_every_common_japanese_encoding() -> None:
    for encoding in ("utf-8", "utf-8-sig", "cp932", "euc_jp"):
        assert extract_text(MARKED.encode(encoding), "memo.txt") == MARKED


def test_word_excel_and_pdf_are_read_with_their_headers_and_tables() -> None:
    word = extract_text(docx_bytes("本文の一行目\n二行目", header="機密性2情報"), "案.docx")
    assert word.startswith("機密性2情報") and "二行目" in word and "連絡先\t企画課" in word
    sheet = extract_text(xlsx_bytes([["氏名", "電話"], ["佐藤花子", "090-1234-5678"]]), "名簿.xlsx")
    assert "# 名簿" in sheet and "佐藤花子\t090-1234-5678" in sheet
    pdf = extract_text(pdf_bytes(["Internal draft", "Contact: taro.yamada@example.jp"]), "draft.pdf")
    assert "Internal draft" in pdf and "taro.yamada@example.jp" in pdf


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "photo.png", "対応していません"),
        (b"%PDF-1.4 not really a pdf", "broken.pdf", "読み取れません"),
        (b"PK\x03\x04 broken zip", "broken.docx", "読み取れません"),
        (bytes(range(256)) * 4, "binary.txt", "文字コード"),
    ],
)
def test_unreadable_documents_get_a_clear_error(data: bytes, name: str, words: str) -> None:
    with pytest.raises(DocumentError) as info:
        extract_text(data, name)
    assert words in str(info.value) and "Traceback" not in str(info.value)


def test_file_parts_become_text_parts_with_their_declared_class() -> None:
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "この資料を要約して"},
        file_part("資料.txt", MARKED.encode(), "text/plain", classification="機密性2"),
    ]}]
    found = inline_attachments(messages, max_chars=10_000)
    assert [(a.filename, a.declared_class) for a in found] == [("資料.txt", 2)]
    part = messages[0]["content"][1]
    assert part["type"] == "text" and MARKED in part["text"] and "資料.txt" in part["text"]


@pytest.mark.parametrize(
    ("file", "param", "code"),
    [
        ({"file_id": "file-abc"}, "messages[0].content[0].file.file_id", "unsupported_file_reference"),
        ({"filename": "a.txt", "file_data": "data:text/plain;base64,@@@"}, "messages[0].content[0].file.file_data", None),
        ({"filename": "a.txt"}, "messages[0].content[0].file.file_data", None),
        ({"filename": "a.txt", "file_data": "data:text/plain;base64,YQ==", "classification": 4}, "messages[0].content[0].file.classification", "invalid_classification"),
    ],
)
def test_bad_file_parts_name_the_field(file: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(InvalidRequest) as info:
        inline_attachments([{"role": "user", "content": [{"type": "file", "file": file}]}], max_chars=1000)
    assert info.value.param == param
    if code:
        assert info.value.code == code


def test_documents_over_the_character_limit_are_refused() -> None:
    part = file_part("long.txt", ("あ" * 5000).encode(), "text/plain")
    with pytest.raises(InvalidRequest) as info:
        inline_attachments([{"role": "user", "content": [part]}], max_chars=1000)
    assert info.value.code == "attachment_too_long"


def test_tool_definitions_and_unknown_parts_are_part_of_the_content() -> None:
    body = {"messages": [{"role": "user", "content": "天気は？"}], "tools": [
        {"type": "function", "function": {"name": "lookup", "description": "佐藤花子様（携帯 090-1234-5678）の記録を探す"}}
    ]}
    content = chat_content(body, max_attachment_chars=1000)
    assert content.capabilities == ("chat", "tools")
    assert any("090-1234-5678" in text for text in content.texts)
    images = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}]}
    assert "vision" in chat_content(images, max_attachment_chars=1000).capabilities
    audio = {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}
    with pytest.raises(InvalidRequest) as info:
        chat_content(audio, max_attachment_chars=1000)
    assert info.value.code == "unsupported_content"


# -- through the API -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    with running_gennai(tmp_path_factory.mktemp("attach"), models(openai_upstream[1]), extra_toml=RULES.format(mode="block")) as s:
        yield s


def client(server: GennaiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)


def ask(server: GennaiServer, model: str, *parts: dict[str, Any]) -> Any:
    content = [{"type": "text", "text": "添付の資料を要約してください"}, *parts]
    return client(server).chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": content}])


def test_a_marked_document_never_goes_abroad(server: GennaiServer) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        ask(server, "abroad", file_part("検討資料.docx", docx_bytes("予算の検討状況", header="【取扱注意】")))
    assert "取扱注意" in info.value.message and "domestic" in info.value.message
    routed = ask(server, "auto", file_part("検討資料.docx", docx_bytes("予算の検討状況", header="【取扱注意】")))
    assert routed.headers["x-gennai-model"] == "domestic" and routed.headers["x-gennai-classification"] == "2"


def test_a_declared_document_class_is_a_floor(server: GennaiServer) -> None:
    plain = file_part("お知らせ.txt", "来週の会議室の予約について".encode(), "text/plain")
    assert ask(server, "abroad", plain).headers["x-gennai-classification"] == "1"
    declared = file_part("お知らせ.txt", "来週の会議室の予約について".encode(), "text/plain", classification=2)
    with pytest.raises(openai.PermissionDeniedError) as info:
        ask(server, "abroad", declared)
    assert "添付「お知らせ.txt」" in info.value.message


def test_the_model_receives_the_documents_text_not_the_file(server: GennaiServer) -> None:
    response = ask(server, "domestic", file_part("名簿.xlsx", xlsx_bytes([["氏名"], ["佐藤花子"]])))
    sent = orjson.loads(response.parse().choices[0].message.content or "{}")
    parts = sent["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "text"]
    assert "佐藤花子" in parts[1]["text"] and "名簿.xlsx" in parts[1]["text"]
    assert "file_data" not in orjson.dumps(sent).decode()


def test_unreadable_attachments_and_images_for_text_models_are_400s(server: GennaiServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ask(server, "domestic", file_part("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(16), "image/png"))
    assert info.value.body["code"] == "unreadable_attachment"  # type: ignore[index]
    assert info.value.body["param"] == "messages[0].content[1].file.file_data"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as info:
        ask(server, "domestic", {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}})
    assert info.value.body["code"] == "unsupported_capability"  # type: ignore[index]
