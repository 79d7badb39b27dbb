"""Blind human grading: the queue, grades, assignments, results and the grading web app
(gennai.evaluation.grading, gennai.evaluation.grading_server)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from gennai.evaluation import grading
from gennai.evaluation.grading import (
    GradingError,
    Mark,
    TaskFull,
    assignments,
    load_grades,
    load_queue,
    queue_tasks,
    results,
    submit_grades,
    transcript_path,
)
from gennai.evaluation.grading_server import create_grading_app, new_token
from gennai.evaluation.items import Item
from gennai.evaluation.scorers import judge_prompt
from gennai.evaluation.statistics import cohen_kappa

# Distinctive model ids: none of them, nor any fragment, may reach a grader's page.
MODEL_X = "zz-vendorx/secret-model-7b:2027q1"
MODEL_Y = "qq-acme@stealth-llm-v9"
MODEL_Z = "kk-third.party/hidden-z"
MODELS = (MODEL_X, MODEL_Y, MODEL_Z)
FRAGMENTS = ("secret-model", "vendorx", "stealth", "acme", "hidden-z", "third.party", "zz-", "qq-", "kk-")

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef00"
CAROL = "carol-token-0123456789abcdef"
GRADERS = {ALICE: "山田", BOB: "佐藤", CAROL: "鈴木"}

ITEMS = {
    "q1": Item(id="q1", category="drafting", scoring="judge", input="住民票の写しの請求方法を説明してください。",
               system="あなたは自治体の窓口案内係です。", reference="窓口、郵送、コンビニ交付で請求できます。",
               eval_aspect="請求方法を3つ挙げていれば4点以上。"),
    "q2": Item(id="q2", category="drafting", scoring="judge",
               turns=("会議の議事録を要約してください。", "それを3行にしてください。")),
    "q3": Item(id="q3", category="law", scoring="judge", input="行政手続法の目的は何ですか。"),
}


def _write_transcript(run_dir: Path, model: str, lines: list[dict[str, object]]) -> None:
    path = transcript_path(run_dir, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({**line, "model": model}, ensure_ascii=False) + "\n" for line in lines),
                    encoding="utf-8")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    for model, tag in ((MODEL_X, "エックス"), (MODEL_Y, "ワイ"), (MODEL_Z, "ゼット")):
        _write_transcript(run, model, [
            {"item_id": "q1", "status": "ok", "answers": [f"q1への回答{tag}"]},
            {"item_id": "q2", "status": "ok", "answers": [f"要約{tag}", f"三行{tag}"]},
            {"item_id": "q3", "status": "ok", "answers": [f"q3への回答{tag}"]},
        ])
    return run


@pytest.fixture
def queued(run_dir: Path) -> Path:
    added = queue_tasks(run_dir, [
        ("q1", [MODEL_X, MODEL_Y], "judges disagree: 2 vs 5"),
        ("q2", [MODEL_X, MODEL_Y], "judges disagree: 1 vs 4"),
        ("q3", [MODEL_X, MODEL_Y, MODEL_Z], "evaluator's choice"),
    ], seed=42)
    assert added == 3
    return run_dir


@pytest.fixture
def client(queued: Path) -> Iterator[TestClient]:
    with TestClient(create_grading_app(queued, ITEMS, GRADERS)) as test_client:
        yield test_client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the form carries a CSRF secret"
    return found.group(1)


def _action(page: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', page)
    assert found
    return html.unescape(found.group(1))


def _fields(page: str) -> int:
    return len(set(re.findall(r'name="score_(\d+)"', page)))


def _grade_current(client: TestClient, token: str, score: int = 4) -> str:
    """Open the grader's next task, mark every answer, return the task id."""
    page = client.get(f"/g/{token}").text
    action = _action(page)
    form = {"csrf": _csrf(page)} | {f"score_{n}": str(score) for n in range(1, _fields(page) + 1)}
    response = client.post(action, data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return action.rsplit("/", 1)[1]


def _assert_blind(page: str) -> None:
    for model in MODELS:
        assert model not in page
        assert html.escape(model) not in page
        assert quote(model, safe="") not in page
    for fragment in FRAGMENTS:
        assert fragment not in page
    assert "judges disagree" not in page and "evaluator's choice" not in page


# -- files and the queue -----------------------------------------------------------------------


def test_transcript_path_quotes_the_model_id(tmp_path: Path) -> None:
    assert transcript_path(tmp_path, "org/model:7b") == tmp_path / "transcripts" / "org%2Fmodel%3A7b.jsonl"
    assert transcript_path(tmp_path, "plain-model_1.0") == tmp_path / "transcripts" / "plain-model_1.0.jsonl"


def test_queue_has_no_duplicates(run_dir: Path) -> None:
    when = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
    assert queue_tasks(run_dir, [("q1", [MODEL_X, MODEL_Y], "r"), ("q1", [MODEL_Y, MODEL_X], "again")], 1, now=when) == 1
    assert queue_tasks(run_dir, [("q1", [MODEL_Y, MODEL_X], "r2")], 1) == 0
    assert queue_tasks(run_dir, [("q1", [MODEL_X, MODEL_Z], "r3"), ("q2", [MODEL_X, MODEL_Y], "r4")], 1) == 2
    tasks = load_queue(run_dir)
    assert [t.task_id for t in tasks] == ["t00001", "t00002", "t00003"]
    first = tasks[0]
    assert first.item_id == "q1" and first.candidates == (MODEL_X, MODEL_Y) and first.reason == "r"
    assert sorted(first.labels) == ["回答A", "回答B"] and first.created_at == "2027-01-20T10:00:00Z"
    assert first.labels == grading._labels_for(2, first.seed)  # reproducible from the recorded seed
    raw = json.loads(grading.queue_path(run_dir).read_text(encoding="utf-8").splitlines()[0])
    assert set(raw) == {"task_id", "item_id", "candidates", "labels", "seed", "reason", "created_at"}


def test_queue_rejects_bad_tasks(run_dir: Path) -> None:
    with pytest.raises(GradingError):
        queue_tasks(run_dir, [("q1", [], "r")], 0)
    with pytest.raises(GradingError):
        queue_tasks(run_dir, [("q1", [MODEL_X, MODEL_X], "r")], 0)
    assert load_queue(run_dir) == []


def test_labels_are_shuffled_per_task_and_seeded(tmp_path: Path) -> None:
    tasks = [(f"q{n}", [MODEL_X, MODEL_Y], "r") for n in range(40)]
    queue_tasks(tmp_path / "a", tasks, seed=7)
    queue_tasks(tmp_path / "b", tasks, seed=7)
    first = [t.labels for t in load_queue(tmp_path / "a")]
    assert first == [t.labels for t in load_queue(tmp_path / "b")]
    assert {("回答A", "回答B"), ("回答B", "回答A")} == set(first)  # model X is not always 回答A


def test_assignment_order_differs_per_grader_and_is_stable(tmp_path: Path) -> None:
    queue_tasks(tmp_path, [(f"q{n}", [MODEL_X, MODEL_Y], "r") for n in range(20)], seed=1)
    alice = [t.task_id for t in assignments(tmp_path, "山田")]
    bob = [t.task_id for t in assignments(tmp_path, "佐藤")]
    assert sorted(alice) == sorted(bob) and alice != bob
    assert alice == [t.task_id for t in assignments(tmp_path, "山田")]
    task = next(t for t in load_queue(tmp_path) if t.task_id == bob[0])
    for grader in ("佐藤", "鈴木"):
        submit_grades(tmp_path, task.task_id, grader, [Mark(label, 3) for label in task.labels])
    assert [t for t in alice if t != task.task_id] == [t.task_id for t in assignments(tmp_path, "山田")]


def test_two_graders_then_the_task_leaves_the_queue(queued: Path) -> None:
    task = load_queue(queued)[0]
    marks = [Mark(label, 4) for label in task.labels]
    submit_grades(queued, task.task_id, "山田", marks)
    assert task.task_id not in [t.task_id for t in assignments(queued, "山田")]
    assert task.task_id in [t.task_id for t in assignments(queued, "鈴木")]
    submit_grades(queued, task.task_id, "佐藤", marks)
    assert task.task_id not in [t.task_id for t in assignments(queued, "鈴木")]
    with pytest.raises(TaskFull):
        submit_grades(queued, task.task_id, "鈴木", marks)
    submit_grades(queued, task.task_id, "山田", [Mark(label, 2) for label in task.labels])  # revision is fine
    assert results(queued).complete == (task.task_id,)


def test_submit_grades_validates(queued: Path) -> None:
    task = load_queue(queued)[0]
    with pytest.raises(GradingError):
        submit_grades(queued, task.task_id, "山田", [Mark("回答A", 4)])  # one answer missing
    with pytest.raises(GradingError):
        submit_grades(queued, task.task_id, "山田", [Mark("回答A", 6), Mark("回答B", 3)])
    with pytest.raises(GradingError):
        submit_grades(queued, "t99999", "山田", [Mark("回答A", 4), Mark("回答B", 3)])
    assert load_grades(queued) == []


def test_results_de_anonymise_and_last_mark_wins(queued: Path) -> None:
    task = next(t for t in load_queue(queued) if t.item_id == "q3")
    label_of = dict(zip(task.candidates, task.labels, strict=True))
    submit_grades(queued, task.task_id, "山田", [Mark(label_of[MODEL_X], 1), Mark(label_of[MODEL_Y], 1),
                                               Mark(label_of[MODEL_Z], 1)])
    submit_grades(queued, task.task_id, "山田", [Mark(label_of[MODEL_X], 5), Mark(label_of[MODEL_Y], 2),
                                               Mark(label_of[MODEL_Z], 3, "やや不正確")])
    partial = results(queued)
    assert partial.score("q3", MODEL_X) == 5.0 and task.task_id in partial.incomplete
    assert next(a for a in partial.answers if a.candidate == MODEL_X).complete is False
    submit_grades(queued, task.task_id, "佐藤", [Mark(label_of[MODEL_X], 4), Mark(label_of[MODEL_Y], 2),
                                               Mark(label_of[MODEL_Z], 5)])
    final = results(queued)
    assert final.score("q3", MODEL_X) == 4.5
    assert final.score("q3", MODEL_Y) == 2.0
    assert final.score("q3", MODEL_Z) == 4.0
    assert final.score("q1", MODEL_X) is None
    assert final.complete == (task.task_id,) and len(final.incomplete) == 2
    assert all(a.complete for a in final.answers)
    assert final.agreement.n == 3
    assert json.loads(json.dumps(final.to_json()))["tasks"] == {"complete": 1, "incomplete": 2,
                                                                 "incomplete_ids": list(final.incomplete)}


def test_kappa_on_a_known_example(tmp_path: Path) -> None:
    # Four two-answer tasks; (first grader, second grader) per answer:
    # (5,5) (4,4) (3,3) (3,4) (2,2) (1,2) (5,5) (4,3): 5 of 8 agree, p_o = 5/8.
    # First grader's scores 5×2 4×2 3×2 2×1 1×1; second's 5×2 4×2 3×2 2×2 1×0:
    # p_e = (2·2 + 2·2 + 2·2 + 1·2 + 1·0) / 8² = 14/64.
    queue_tasks(tmp_path, [(f"q{n}", [MODEL_X, MODEL_Y], "r") for n in range(4)], seed=3)
    pairs = [((5, 5), (4, 4)), ((3, 3), (3, 4)), ((2, 2), (1, 2)), ((5, 5), (4, 3))]
    for task, ((a1, a2), (b1, b2)) in zip(load_queue(tmp_path), pairs, strict=True):
        first, second = task.shown
        submit_grades(tmp_path, task.task_id, "山田", [Mark(first, a1), Mark(second, b1)])
        # the second grader differs between tasks: pairing is per task, by who graded first
        other = "佐藤" if task.task_id != "t00002" else "鈴木"
        submit_grades(tmp_path, task.task_id, other, [Mark(first, a2), Mark(second, b2)])
    agreement = results(tmp_path).agreement
    observed, expected = 5 / 8, (2 * 2 + 2 * 2 + 2 * 2 + 1 * 2 + 1 * 0) / 64
    assert agreement.n == 8
    assert agreement.kappa == pytest.approx((observed - expected) / (1 - expected))
    flat = [p for task_pairs in pairs for p in task_pairs]
    assert agreement.kappa == pytest.approx(cohen_kappa(flat))
    assert agreement.note is not None and "参考値" in agreement.note  # n < KAPPA_MIN_PAIRS


def test_kappa_without_complete_tasks(queued: Path) -> None:
    agreement = results(queued).agreement
    assert agreement.kappa is None and agreement.n == 0 and agreement.note


def test_a_torn_last_line_is_skipped_and_the_next_append_starts_fresh(queued: Path) -> None:
    task = load_queue(queued)[0]
    path = grading.grades_path(queued)
    path.write_text('{"task_id": "t0000', encoding="utf-8")  # a crash mid-write
    assert load_grades(queued) == []
    submit_grades(queued, task.task_id, "山田", [Mark(label, 3) for label in task.labels])
    assert len(load_grades(queued)) == 2


def test_rubric_matches_the_judge_prompt() -> None:
    prompt = judge_prompt(ITEMS["q1"], "回答")
    for score, text in grading.RUBRIC:
        assert f"- {score}点: {text}" in prompt
    for text in grading.RUBRIC_ADJUSTMENTS:
        assert f"- {text}" in prompt
    assert grading.RUBRIC_FLOOR in prompt


# -- the web app -------------------------------------------------------------------------------


def test_grader_pages_never_show_model_ids(client: TestClient, queued: Path) -> None:
    pages: list[str] = []
    for token in (ALICE, BOB):
        for _ in range(3):
            page = client.get(f"/g/{token}")
            assert page.status_code == 200
            pages.append(page.text)
            action = _action(page.text)
            pages.append(client.get(action).text)
            form = {"csrf": _csrf(page.text), "score_1": "9"}
            pages.append(client.post(action, data=form).text)  # the error page, too
            _grade_current(client, token)
        done = client.get(f"/g/{token}")
        assert "採点はすべて終わりました" in done.text
        pages.append(done.text)
        for link in re.findall(r'href="(/g/[^"]+/t/[^"]+)"', done.text):
            pages.append(client.get(html.unescape(link)).text)
    assert len(pages) > 20
    for page in pages:
        _assert_blind(page)
    # ... while the answers themselves are shown, by label.
    assert any("q1への回答エックス" in page for page in pages) and any("回答C" in page for page in pages)


def test_task_page_shows_question_rubric_and_labelled_answers(client: TestClient, queued: Path) -> None:
    q1 = next(t for t in load_queue(queued) if t.item_id == "q1")
    page = client.get(f"/g/{ALICE}/t/{q1.task_id}")
    assert page.status_code == 200
    text = page.text
    assert '<html lang="ja">' in text
    for part in ("住民票の写しの請求方法", "自治体の窓口案内係", "コンビニ交付", "請求方法を3つ挙げていれば",
                 "誤っているが、方向性は合っている", "不必要な回答拒否"):
        assert part in text
    label_of = dict(zip(q1.candidates, q1.labels, strict=True))
    shown_first = "q1への回答エックス" if label_of[MODEL_X] == "回答A" else "q1への回答ワイ"
    assert text.index("回答A") < text.index(shown_first) < text.index('id="answer-2-title"')
    for n in (1, 2):
        for score in range(1, 6):
            assert f'<label for="score_{n}-{score}">' in text
        assert f'<label for="comment_{n}">' in text
    assert "課題 1 / 3" in text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"


def test_multi_turn_answers_show_their_earlier_turns(client: TestClient, queued: Path) -> None:
    q2 = next(t for t in load_queue(queued) if t.item_id == "q2")
    text = client.get(f"/g/{ALICE}/t/{q2.task_id}").text
    assert "それを3行にしてください。" in text and "要約エックス" in text and "三行ワイ" in text


def test_a_grader_does_not_get_the_same_task_twice(client: TestClient, queued: Path) -> None:
    seen = [_grade_current(client, ALICE) for _ in range(3)]
    assert len(set(seen)) == 3
    assert assignments(queued, "山田") == []
    done = client.get(f"/g/{ALICE}")
    assert "採点はすべて終わりました" in done.text and "課題3" in done.text
    assert {g.grader for g in load_grades(queued)} == {"山田"}


def test_two_graders_complete_a_task_and_a_third_never_sees_it(client: TestClient, queued: Path) -> None:
    for _ in range(3):
        _grade_current(client, ALICE)
        _grade_current(client, BOB)
    assert "採点はすべて終わりました" in client.get(f"/g/{CAROL}").text
    final = results(queued)
    assert len(final.complete) == 3 and final.agreement.kappa == 1.0


def test_a_late_third_grader_is_told_and_nothing_is_stored(client: TestClient, queued: Path) -> None:
    page = client.get(f"/g/{CAROL}").text
    task_id = _action(page).rsplit("/", 1)[1]
    task = next(t for t in load_queue(queued) if t.task_id == task_id)
    for grader in ("山田", "佐藤"):
        submit_grades(queued, task_id, grader, [Mark(label, 3) for label in task.labels])
    form = {"csrf": _csrf(page)} | {f"score_{n}": "5" for n in range(1, len(task.labels) + 1)}
    response = client.post(_action(page), data=form)
    assert response.status_code == 200 and "ほかの2人の採点者" in response.text
    assert "鈴木" not in {g.grader for g in load_grades(queued)}


def test_invalid_score_gives_a_japanese_error_and_stores_nothing(client: TestClient, queued: Path) -> None:
    page = client.get(f"/g/{ALICE}").text
    action, csrf = _action(page), _csrf(page)
    for bad in ({"score_1": "7", "score_2": "3"}, {"score_1": "abc", "score_2": "3"}, {"score_2": "3"},
                {"score_1": "2", "score_2": "3", "comment_1": "あ" * 2001}):
        response = client.post(action, data={"csrf": csrf, "comment_2": "丁寧な回答"} | bad)
        assert response.status_code == 400
        assert "入力内容を確認してください" in response.text
        assert ("1〜5の整数" in response.text or "点数を選んでください" in response.text
                or "2000文字以内" in response.text)
        assert "Traceback" not in response.text
        assert "丁寧な回答" in response.text  # what was entered is kept
    assert not grading.grades_path(queued).exists() or load_grades(queued) == []


def test_revising_a_mark_replaces_it(client: TestClient, queued: Path) -> None:
    task_id = _grade_current(client, ALICE, score=2)
    after = client.get(f"/g/{ALICE}?notice=saved&prev={task_id}").text
    assert "採点を保存しました" in after and f"/t/{task_id}" in after
    page = client.get(f"/g/{ALICE}/t/{task_id}").text
    assert "採点済みの課題を修正しています" in page and 'value="2" required checked' in page
    form = {"csrf": _csrf(page)} | {f"score_{n}": "5" for n in range(1, _fields(page) + 1)}
    assert client.post(_action(page), data=form, follow_redirects=False).status_code == 303
    task = next(t for t in load_queue(queued) if t.task_id == task_id)
    assert all(results(queued).score(task.item_id, model) == 5.0 for model in task.candidates)


def test_unknown_token_is_a_japanese_404(client: TestClient) -> None:
    for path in (f"/g/{'x' * 28}", f"/g/{'x' * 28}/t/t00001", "/", "/nowhere"):
        response = client.get(path)
        assert response.status_code == 404
        assert "ページが見つかりません" in response.text and 'lang="ja"' in response.text
    assert client.post(f"/g/{'x' * 28}/t/t00001", data={"score_1": "3"}).status_code == 404
    assert client.get(f"/g/{ALICE}/t/t99999").status_code == 404


def test_post_without_a_valid_csrf_secret_is_refused(client: TestClient, queued: Path) -> None:
    page = client.get(f"/g/{ALICE}").text
    action = _action(page)
    form = {"score_1": "3", "score_2": "3"}
    for data in (form, form | {"csrf": "0" * 64}):
        response = client.post(action, data=data)
        assert response.status_code == 403 and "送信を受け付けられません" in response.text
    # another grader's secret does not work either
    bob_page = client.get(f"/g/{BOB}{action[action.index('/t/'):]}").text
    assert client.post(action, data=form | {"csrf": _csrf(bob_page)}).status_code == 403
    # a cross-site post is refused even with the right secret
    cross = client.post(action, data=form | {"csrf": _csrf(page)}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert not grading.grades_path(queued).exists()


def test_app_rejects_weak_tokens_and_duplicate_names(queued: Path) -> None:
    with pytest.raises(ValueError):
        create_grading_app(queued, ITEMS, {"short": "山田"})
    with pytest.raises(ValueError):
        create_grading_app(queued, ITEMS, {new_token(): "山田", new_token(): "山田"})
    assert len(new_token()) >= 16


def test_a_same_origin_post_with_origin_null_is_accepted_and_a_cross_site_one_refused() -> None:
    """Chromium sends Origin: null for a page under Referrer-Policy: no-referrer; Sec-Fetch-Site
    still says whether the form is the page's own."""
    from starlette.requests import Request

    from gennai.evaluation.grading_server import _same_origin

    def request(headers: dict[str, str]) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1:8100", **headers}.items()]
        return Request({"type": "http", "scheme": "http", "method": "POST", "path": "/", "headers": raw, "query_string": b""})

    assert _same_origin(request({"origin": "null", "sec-fetch-site": "same-origin"}))
    assert not _same_origin(request({"origin": "null", "sec-fetch-site": "cross-site"}))
    assert not _same_origin(request({"origin": "null"}))
    assert _same_origin(request({"origin": "http://127.0.0.1:8100"}))
    assert not _same_origin(request({"origin": "http://evil.example"}))
