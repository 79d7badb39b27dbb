"""General apps as files (gennai.apps): every shipped app loads, a broken file is one line and
is skipped, submitted inputs are checked per the AI-app protocol's form definition (with its
quirks), and the prompt templates cannot reach anything but the form's values."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from gennai.apps.definitions import GENERAL_APPS_DIR, AppDefinition, AppFileError, load_app, load_apps
from gennai.apps.forms import FORM_ERROR_KEY, UploadedFile, accepts, parse_size, validate_inputs
from gennai.apps.prompts import TemplateError, parse

SHIPPED = {"drafting", "summary", "proofreading", "translation", "easy_japanese", "minutes"}

MINIMAL = """
title = "テスト"
description = "テスト用のアプリです。"
task = "drafting"

[form.text]
type = "textarea"
title = "本文"
required = true

[prompt]
system = "あなたは職員を支援します。"
user = "次の文章を直してください。\\n{text}"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def app_from(form: dict[str, Any], user: str = "x", **extra: Any) -> AppDefinition:
    return AppDefinition.model_validate(
        {"id": "t", "title": "テスト", "description": "説明", "form": form, "prompt": {"user": user}, **extra}
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- the shipped apps ---------------------------------------------------------------------


def test_every_shipped_app_loads() -> None:
    apps = load_apps([GENERAL_APPS_DIR])
    assert apps.errors == []
    assert set(apps) == SHIPPED
    assert list(apps)[:2] == ["drafting", "summary"]  # listed by `order`
    for app in apps.values():
        assert app.source and app.source.endswith(f"{app.id}.toml")
        assert "機密性2以上の情報は国内モデルで処理されます" in app.description or "機密性2として国内モデル" in app.description
        assert app.summary and "\n" not in app.summary
        json = app.to_json()
        orjson.dumps(json)  # what the web interface renders: plain JSON
        assert "prompt" not in json and json["form"]
        assert app.template("user").names() <= set(app.form)
    assert apps["translation"].task == "translation"
    assert {item["value"] for item in apps["translation"].form_definition()["direction"]["items"]} == {"ja-en", "en-ja"}
    assert apps["summary"].form_definition()["document"]["accept"] == ".txt,.pdf,.docx"
    kinds = [i["title"] for i in apps["drafting"].form_definition()["kind"]["items"]]
    assert kinds == ["お知らせ", "メール", "依頼文", "案内文"]


def test_proofreading_prompt_carries_the_main_conventions() -> None:
    system = load_apps([GENERAL_APPS_DIR])["proofreading"].prompt.system
    for convention in ("公用文作成の考え方", "常用漢字表", "送り仮名", "「及び」", "「並びに」", "「又は」", "「若しくは」",
                       "読点は「、」", "算用数字", "外来語", "敬語は簡潔", "「～について」", "か月"):
        assert convention in system, convention


def test_shipped_prompts_render_every_branch_without_leftover_tags() -> None:
    apps = load_apps([GENERAL_APPS_DIR])
    inputs = {
        "drafting": {"recipient": "各課", "points": "説明会の案内", "kind": "email", "sender": "人事課"},
        "summary": {"text": "本文", "focus": "影響"},
        "proofreading": {"text": "本文", "doc_type": "public", "output": "list"},
        "translation": {"text": "Hello", "direction": "en-ja", "glossary": "デジタル庁 = Digital Agency", "style": "formal"},
        "easy_japanese": {"text": "本文", "audience": "children", "furigana": "all", "extras": True},
        "minutes": {"meeting": "検討会", "date": "5月1日", "notes": "メモ", "place": "会議室"},
    }
    for app_id, values in inputs.items():
        app = apps[app_id]
        checked = app.validate_inputs(values)
        assert checked.ok, (app_id, checked.errors)
        system, user = app.render(checked.values)
        for text in (system, user):
            assert "{" not in text.replace("{{", "") and "\n\n\n" not in text, (app_id, text)
    _, user = apps["drafting"].render(apps["drafting"].validate_inputs(inputs["drafting"]).values)
    assert "「メール」" in user and "件名" in user and "差出人: 人事課" in user and "標題、本文、問い合わせ先" not in user
    _, user = apps["minutes"].render(apps["minutes"].validate_inputs({"meeting": "会", "date": "今日", "notes": "x"}).values)
    assert "場所: 〔要確認〕" in user


# -- broken files -------------------------------------------------------------------------


def test_a_broken_file_is_one_line_and_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "apps"
    write(folder, "good", MINIMAL)
    write(folder, "syntax", "title = \n")
    write(folder, "no_items", MINIMAL + '\n[form.kind]\ntype = "select"\ntitle = "種類"\n')
    write(folder, "attribute", MINIMAL.replace("{text}", "{text.__class__}"))
    write(folder, "unknown", MINIMAL.replace("{text}", "{colour}"))
    write(folder, "Bad Name", MINIMAL)
    write(folder, "with_id", 'id = "other"\n' + MINIMAL)
    write(folder, "typo", MINIMAL.replace('required = true', 'requird = true'))
    (folder / "notes.txt").write_text("not an app", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="gennai.apps"):
        apps = load_apps([folder])
    assert list(apps) == ["good"]
    assert len(apps.errors) == 7
    for line in apps.errors:
        assert "\n" not in line and line.startswith(str(folder)), line
    by_file = {Path(line.split(":", 1)[0]).stem: line for line in apps.errors}
    assert ": toml: " in by_file["syntax"]
    assert "form.kind.items: Field required" in by_file["no_items"]
    assert ".toml:" in by_file["no_items"]  # with the line number
    assert "prompt.user: '{text.__class__}' is not a placeholder" in by_file["attribute"]
    assert "prompt.user: '{colour}' is not a field of the form" in by_file["unknown"]
    assert ": id: " in by_file["Bad Name"]
    assert ": id: set by gennai" in by_file["with_id"]
    assert "form.text.requird: Extra inputs are not permitted" in by_file["typo"]
    assert len([r for r in caplog.records if "app file skipped" in r.getMessage()]) == 7


def test_load_app_raises_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x", MINIMAL.replace('type = "textarea"', 'type = "colour"'))
    with pytest.raises(AppFileError) as info:
        load_app(path)
    assert str(info.value).startswith(f"{path}:") and "form.text" in str(info.value) and "\n" not in str(info.value)


def test_a_later_folder_replaces_an_app_and_a_missing_folder_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "site", "translation", MINIMAL.replace('title = "テスト"', 'title = "庁内翻訳"'))
    apps = load_apps([GENERAL_APPS_DIR, tmp_path / "site", tmp_path / "nowhere"])
    assert apps["translation"].title == "庁内翻訳" and set(apps) == SHIPPED
    assert apps.errors == [f"{tmp_path / 'nowhere'}: folder: not found or not a folder"]


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ({"type": "text", "title": "a", "min_length": 5, "max_length": 2}, "min_length is greater than max_length"),
        ({"type": "select", "title": "a", "items": [{"title": "A", "value": "a"}], "default_value": "b"}, "default_value 'b'"),
        ({"type": "checkbox", "title": "a", "items": [{"title": "A", "value": "a,b"}]}, "holds a comma"),
        ({"type": "radio", "title": "a", "items": [{"title": "A", "value": "a"}, {"title": "B", "value": "a"}]}, "same value"),
        ({"type": "file", "title": "a", "max_size": "4.5 parsecs"}, "is not a size"),
        ({"type": "file", "title": "a", "max_file_count": 3}, "needs multiple = true"),
        ({"type": "file", "title": "a", "accept": "pdf files"}, "HTML accept syntax"),
        ({"type": "number", "title": "a", "min": 10, "max": 1}, "min is greater than max"),
        ({"type": "hidden"}, "default_value"),
        ({"type": "hidden", "default_value": "x", "title": "a"}, "Extra inputs"),
        ({"type": "text"}, "title"),
    ],
)
def test_field_definitions_are_checked(field: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        app_from({"a": field, "b": {"type": "text", "title": "b"}})


def test_form_keys_are_checked() -> None:
    with pytest.raises(ValueError, match="reserved by the AI-app protocol"):
        app_from({"files": {"type": "file", "title": "f"}})
    with pytest.raises(ValueError, match="not a usable key"):
        app_from({"my-field": {"type": "text", "title": "f"}})
    with pytest.raises(ValueError, match="no visible field"):
        app_from({"h": {"type": "hidden", "default_value": "x"}})
    with pytest.raises(ValueError, match="require_one_of: 'c'"):
        app_from({"a": {"type": "text", "title": "a"}}, require_one_of=[["a", "c"]])


# -- templates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    ["{text.__class__}", "{text[0]}", "{text!r}", "{text:>10}", "{0}", "{}", "{ text }", "a { b", "a } b",
     "{?text}open", "{/text}", "{?text}x{/other}", "{text.__init__.__globals__}"],
)
def test_templates_reject_anything_but_placeholders(template: str) -> None:
    with pytest.raises(TemplateError):
        parse(template)


def test_attribute_access_in_an_app_file_is_rejected_when_loaded() -> None:
    with pytest.raises(ValueError, match="is not a placeholder"):
        app_from({"text": {"type": "text", "title": "t"}}, user="{text.__class__}")
    with pytest.raises(ValueError, match="'x' is not the value of an item"):
        app_from({"k": {"type": "radio", "title": "k", "items": [{"title": "A", "value": "a"}]}}, user="{?k=x}y{/k}")


def test_values_are_inserted_once_as_plain_text() -> None:
    app = app_from({"text": {"type": "textarea", "title": "t"}, "other": {"type": "text", "title": "o"}},
                   user="[{text}] {{literal}} {?other}({other}){/other}{!other}none{/other}")
    values = app.validate_inputs({"text": "{other} {text.__class__} {{x}} {0}", "other": ""}).values
    assert app.render(values)[1] == "[{other} {text.__class__} {{x}} {0}] {literal} none"
    values = app.validate_inputs({"text": "a", "other": "{text}"}).values
    assert app.render(values)[1] == "[a] {literal} ({text})"


def test_sections_on_their_own_lines_leave_no_blank_lines() -> None:
    app = app_from(
        {"k": {"type": "select", "title": "k", "items": [{"title": "甲", "value": "a"}, {"title": "乙", "value": "b"}]},
         "c": {"type": "checkbox", "title": "c", "items": [{"title": "X", "value": "x"}, {"title": "Y", "value": "y"}]}},
        user="start\n{?k=a}\nA is {k}\n{/k}\n{!k=a}\nnot A: {k}\n{/k}\n{?c=y}\nY chosen: {c}\n{/c}\nend",
    )
    assert app.render(app.validate_inputs({"k": "a"}).values)[1] == "start\nA is 甲\nend"
    assert app.render(app.validate_inputs({"k": "b", "c": "x,y"}).values)[1] == "start\nnot A: 乙\nY chosen: X、Y\nend"


# -- form validation ----------------------------------------------------------------------

FORM = app_from({
    "title": {"type": "text", "title": "件名", "required": True, "max_length": 10},
    "body": {"type": "textarea", "title": "本文", "min_length": 3, "default_value": "既定の本文"},
    "count": {"type": "number", "title": "件数", "min": 1, "max": 100},
    "kind": {"type": "select", "title": "種類", "items": [{"title": "一", "value": "1"}, {"title": "二", "value": "2"}]},
    "tone": {"type": "radio", "title": "文体", "required": True, "items": [{"title": "丁寧", "value": "polite"}]},
    "opts": {"type": "checkbox", "title": "追加", "items": [{"title": "A", "value": "a"}, {"title": "B", "value": "b"}]},
    "agree": {"type": "checkbox", "title": "同意", "items": [{"title": "同意する", "value": "yes"}]},
    "doc": {"type": "file", "title": "資料", "accept": ".txt,.docx,application/pdf", "max_size": "1KB"},
    "docs": {"type": "file", "title": "複数", "accept": "text/*", "multiple": True, "max_file_count": 2},
    "secret": {"type": "hidden", "default_value": "v1"},
}).form
OK = {"title": "件名", "tone": "polite"}


def check(**inputs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    result = validate_inputs(FORM, {**OK, **inputs})
    return result.values, result.errors


def test_text_fields() -> None:
    values, errors = check()
    assert errors == {} and values["title"] == "件名" and values["body"] == "既定の本文"  # default when absent
    assert check(title="  ")[1] == {"title": "入力してください。"}
    assert check(title="あ" * 11)[1] == {"title": "10文字以内で入力してください（現在11文字）。"}
    assert check(body="ab")[1] == {"body": "3文字以上で入力してください（現在2文字）。"}
    assert check(body="")[0]["body"] is None  # sent empty: no default
    assert check(title={"a": 1})[1] == {"title": "文字で入力してください。"}
    assert check(title=12)[0]["title"] == "12"
    assert check(title="一行目\n二行目")[0]["title"] == "一行目 二行目"  # a text field is one line


def test_numbers_as_json_numbers_or_strings() -> None:
    assert check(count=12)[0]["count"] == 12
    assert check(count="12")[0]["count"] == 12
    assert check(count="１２．５")[0]["count"] == 12.5
    assert check(count=3.0)[0]["count"] == 3 and isinstance(check(count=3.0)[0]["count"], int)
    assert check(count="")[0]["count"] is None
    assert check(count=True)[1] == {"count": "数値を入力してください。"}
    assert check(count="十二")[1] == {"count": "数値を入力してください。"}
    assert check(count=float("nan"))[1] == {"count": "数値を入力してください。"}
    assert check(count=0)[1] == {"count": "1以上の数値を入力してください。"}
    assert check(count="101")[1] == {"count": "100以下の数値を入力してください。"}


def test_select_and_radio() -> None:
    assert check(kind="2")[0]["kind"] == "2"
    assert check(kind=2)[0]["kind"] == "2"  # "2" sent as a number
    assert check(kind="3")[1] == {"kind": "選択肢にない値です。選択肢から選んでください。"}
    assert check(kind="")[0]["kind"] is None
    assert check(tone=None)[1] == {"tone": "選択してください。"}


def test_checkbox_comma_joined_and_boolean() -> None:
    assert check(opts="b,a")[0]["opts"] == ["a", "b"]  # in the items' order
    assert check(opts="a")[0]["opts"] == ["a"]
    assert check(opts=["b"])[0]["opts"] == ["b"]
    assert check(opts="")[0]["opts"] == []
    assert check(opts="a,c")[1] == {"opts": "選択肢にない値が含まれています。選択肢から選んでください。"}
    assert check(opts=True)[1] == {"opts": "選択肢から選んでください。"}  # several choices: not a boolean
    assert check(agree=True)[0]["agree"] == ["yes"]  # a single tick box as a boolean
    assert check(agree=False)[0]["agree"] == []
    required = app_from({"c": {"type": "checkbox", "title": "c", "required": True, "items": [{"title": "A", "value": "a"}]}})
    assert required.validate_inputs({"c": False}).errors == {"c": "一つ以上選択してください。"}


def test_hidden_fields_carry_their_definition() -> None:
    assert check()[0]["secret"] == "v1"
    assert check(secret="tampered")[0]["secret"] == "v1"


def files(key: str, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "files": list(entries)}]


def test_files_in_the_protocol_shape() -> None:
    values, errors = check(files=files("doc", {"filename": "C:\\fakepath\\メモ.txt", "content": b64("本文".encode())}))
    assert errors == {}
    (doc,) = values["doc"]
    assert isinstance(doc, UploadedFile) and doc.filename == "メモ.txt" and doc.media_type == "text/plain"
    assert doc.size == len("本文".encode()) and doc.data_url().startswith("data:text/plain;base64,")
    assert values["docs"] == []
    docx = {"filename": "報告.DOCX", "content": b64(b"PK\x03\x04docx")}
    assert check(files=files("doc", docx))[1] == {}
    pdf = {"filename": "scan", "content": "data:application/pdf;base64," + b64(b"%PDF-1.4")}
    assert check(files=files("doc", pdf))[1] == {}  # by media type


def test_file_limits() -> None:
    # max_size is checked against the base64 size: 800 bytes are 1,068 in base64, over 1KB
    assert check(files=files("doc", {"filename": "a.txt", "content": b64(b"x" * 760)}))[1] == {}
    assert check(files=files("doc", {"filename": "a.txt", "content": b64(b"x" * 800)}))[1] == {
        "doc": "「a.txt」はファイルサイズの上限（1KB）を超えています。"
    }
    assert check(files=files("doc", {"filename": "a.xlsx", "content": b64(b"x")}))[1] == {
        "doc": "「a.xlsx」はこの欄では使えない形式です（使える形式: .txt、.docx、application/pdf）。"
    }
    three = [{"filename": f"{i}.txt", "content": b64(b"x")} for i in range(3)]
    assert check(files=files("docs", *three))[1] == {"docs": "ファイルは2個まで添付できます（現在3個）。"}
    assert check(files=files("docs", *three[:2]))[1] == {}
    two = files("doc", *three[:2])  # not multiple: one file
    assert check(files=two)[1] == {"doc": "ファイルは1個まで添付できます（現在2個）。"}
    assert check(files=files("doc", {"filename": "a.txt", "content": "not base64!"}))[1] == {
        "doc": "「a.txt」の内容（base64）が正しくありません。"
    }
    assert check(files=files("doc", {"filename": "a.txt", "content": ""}))[1] == {"doc": "「a.txt」は空のファイルです。"}
    assert check(files=files("title", {"filename": "a.txt", "content": b64(b"x")}))[1] == {"title": "この欄にはファイルを添付できません。"}
    assert check(files=files("unknown", {"filename": "a.txt", "content": b64(b"x")}))[1] == {}  # ignored like other keys
    assert check(files={"doc": []})[1] == {FORM_ERROR_KEY: "ファイルの送り方が正しくありません（files は一覧にします）。"}
    required = app_from({"f": {"type": "file", "title": "f", "required": True}})
    assert required.validate_inputs({}).errors == {"f": "ファイルを添付してください。"}


def test_accept_syntax_and_sizes() -> None:
    assert accepts(".pdf, image/*", "a.PNG", "image/png") and accepts(None, "a.exe", "application/x-msdownload")
    assert not accepts(".pdf", "a.pdf.exe", "application/x-msdownload")
    assert parse_size("4.5MB") == int(4.5 * 1024 * 1024) and parse_size("500 kb") == 500 * 1024 and parse_size("1GB") == 1024**3


def test_one_of_a_text_or_a_file() -> None:
    summary = load_apps([GENERAL_APPS_DIR])["summary"]
    errors = summary.validate_inputs({}).errors
    assert errors == {"text": "「要約する文章」・「要約するファイル」のどれか一つを入力してください。",
                      "document": "「要約する文章」・「要約するファイル」のどれか一つを入力してください。"}
    assert summary.validate_inputs({"text": "本文"}).ok
    assert summary.validate_inputs({"files": files("document", {"filename": "a.txt", "content": b64(b"x")})}).ok


def test_inputs_that_are_not_an_object() -> None:
    assert validate_inputs(FORM, ["x"]).errors == {FORM_ERROR_KEY: "入力の形式が正しくありません。"}  # type: ignore[arg-type]
