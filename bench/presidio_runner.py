"""Microsoft Presidio side of bench/classification.py; runs inside bench/.venv-presidio.

A persistent worker: reads one JSON command per line on stdin, answers one JSON line on stdout,
so that the harness can alternate A/B rounds without reloading spaCy.  Commands:

    {"cmd": "predict", "texts": [...]}                 -> {"preds": [{"entities": [...], "class": n}], "seconds": s}
    {"cmd": "throughput", "texts": [...]}              -> {"seconds": s, "chars": n}
    {"cmd": "latency", "texts": [...], "n": k}         -> {"ms": [...]}
    {"cmd": "quit"}

Set-up (meant to be a fair equivalent of gennai's detector): AnalyzerEngine with the spaCy NLP
engine for "ja" using GiNZA's ja_ginza (NER labels Person -> PERSON, Province/City/County/
GPE_Other/Location_Other/Postal_Address/... -> ADDRESS), plus PatternRecognizers for every
identifier type (with context words; My Number and corporate number validated by their check
digit), and a deny-list recognizer for the custom project code names.  Presidio has no notion
of handling markings, so its document class is 2 when any personal-data entity is found
(corporate numbers are public and do not count), else 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import unicodedata

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import logging  # noqa: E402

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry  # noqa: E402
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402
from presidio_analyzer.predefined_recognizers import SpacyRecognizer  # noqa: E402

GINZA_MAP = {
    "Person": "PERSON",
    "Province": "ADDRESS", "City": "ADDRESS", "County": "ADDRESS", "GPE_Other": "ADDRESS",
    "Location_Other": "ADDRESS", "Postal_Address": "ADDRESS", "Address_Other": "ADDRESS",
    "Domestic_Region": "ADDRESS", "Location": "ADDRESS", "GPE": "ADDRESS", "LOC": "ADDRESS",
}
D = r"[0-9０-９]"
H = r"[-－‐ー−]"
S = r"[-－‐ー− 　]"
Z = r"[0０]"
WAREKI = r"(?:昭和|平成|令和|大正)(?:元|" + D + r"{1,2})年" + D + r"{1,2}月" + D + r"{1,2}日"
SEIREKI = (r"(?:19|20|１９|２０)" + D + r"{2}(?:年" + D + r"{1,2}月" + D + r"{1,2}日|/" + D + r"{1,2}/" + D
           + r"{1,2})")
SHORT = r"(?<![A-Za-z])[SHR]" + D + r"{1,2}\." + D + r"{1,2}\." + D + r"{1,2}"
ANYDATE = r"(?:" + WAREKI + "|" + SEIREKI + "|" + SHORT + ")"


def _digits(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", s) if c.isdigit())


class MyNumberRecognizer(PatternRecognizer):
    def validate_result(self, pattern_text: str) -> bool:
        d = _digits(pattern_text)
        if len(d) != 12:
            return False
        s = sum(int(d[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
        r = s % 11
        return int(d[11]) == (0 if r <= 1 else 11 - r)


class CorporateNumberRecognizer(PatternRecognizer):
    def validate_result(self, pattern_text: str) -> bool:
        d = _digits(pattern_text)
        if len(d) != 13:
            return False
        s = sum(int(d[13 - n]) * (1 if n % 2 else 2) for n in range(1, 13))
        return int(d[0]) == 9 - (s % 9)


def recognizers(custom_terms: list[str]) -> list:
    nb = r"(?<![0-9０-９])"
    na = r"(?![0-9０-９])"
    return [
        MyNumberRecognizer(supported_entity="MY_NUMBER", supported_language="ja", patterns=[
            Pattern("my_number", nb + D + r"{4}" + S + r"?" + D + r"{4}" + S + r"?" + D + r"{4}" + na, 0.5)],
            context=["個人番号", "マイナンバー", "番号"]),
        CorporateNumberRecognizer(supported_entity="CORPORATE_NUMBER", supported_language="ja", patterns=[
            Pattern("corporate_number", nb + D + r"{13}" + na, 0.5)], context=["法人番号", "法人"]),
        PatternRecognizer(supported_entity="PHONE", supported_language="ja", patterns=[
            Pattern("phone_jp", nb + r"(?:" + Z + D + r"{1,4}" + S + D + r"{1,4}" + S + D + r"{3,4}"
                    + r"|[(（]" + Z + D + r"{1,4}[)）]" + S + r"?" + D + r"{1,4}" + S + D + r"{4}"
                    + r"|" + Z + r"[5789５７８９]" + Z + D + r"{8}|" + Z + D + r"{9})" + na, 0.5),
            Pattern("phone_intl", r"\+81" + S + r"?" + D + r"{1,4}" + S + D + r"{1,4}" + S + D + r"{4}" + na, 0.6)],
            context=["電話", "TEL", "携帯", "連絡先", "問い合わせ", "問合せ"]),
        PatternRecognizer(supported_entity="POSTAL_CODE", supported_language="ja", patterns=[
            Pattern("postal_mark", r"(?<=〒\s?)" + D + r"{3}" + H + D + r"{4}" + na, 0.7),
            Pattern("postal_word", r"(?<=郵便番号[：: 　]?)" + D + r"{3}" + H + r"?" + D + r"{4}" + na, 0.7)],
            context=["郵便番号", "〒"]),
        PatternRecognizer(supported_entity="EMAIL", supported_language="ja", patterns=[
            Pattern("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", 0.8)]),
        PatternRecognizer(supported_entity="PASSPORT", supported_language="ja", patterns=[
            Pattern("passport_jp", r"(?<![A-Za-z])[A-Z]{2}" + D + r"{7}" + na, 0.3)],
            context=["旅券", "パスポート", "passport"]),
        PatternRecognizer(supported_entity="DRIVERS_LICENSE", supported_language="ja", patterns=[
            Pattern("licence_jp", nb + D + r"{12}" + na, 0.1)], context=["免許", "運転免許証", "免許証番号"]),
        PatternRecognizer(supported_entity="BANK_ACCOUNT", supported_language="ja", patterns=[
            Pattern("account_7", r"(?<![A-Za-z])" + nb + D + r"{7}" + na, 0.1),
            Pattern("yucho", nb + D + r"{5}" + H + D + r"{8}" + na, 0.5)],
            context=["口座", "普通", "当座", "支店", "記号番号", "預金"]),
        PatternRecognizer(supported_entity="BIRTH_DATE", supported_language="ja", patterns=[
            Pattern("date", ANYDATE, 0.1),  # raised by context words
            Pattern("date_sei", ANYDATE + r"(?=\s*生)", 0.6),
            Pattern("date_after_label", r"(?<=(?:生年月日|誕生日)(?:が|は|：|:)?\s*)" + ANYDATE, 0.6)],
            context=["生年月日", "生", "生まれ", "誕生"]),
        # patterns rather than deny_list: Presidio's deny_list requires word boundaries, which Japanese lacks
        PatternRecognizer(supported_entity="CUSTOM", supported_language="ja", patterns=[
            Pattern("custom_terms", "|".join(re.escape(t) for t in custom_terms) or r"(?!x)x", 0.9)]),
    ]


def build_engine(custom_terms: list[str]) -> AnalyzerEngine:
    conf = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "ja", "model_name": "ja_ginza"}],
        "ner_model_configuration": {"model_to_presidio_entity_mapping": GINZA_MAP,
                                    "low_score_entity_names": [], "labels_to_ignore": []},
    }
    nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    registry = RecognizerRegistry(supported_languages=["ja"])
    registry.add_recognizer(SpacyRecognizer(supported_language="ja", supported_entities=["PERSON", "ADDRESS"]))
    for r in recognizers(custom_terms):
        registry.add_recognizer(r)
    enhancer = LemmaContextAwareEnhancer(context_prefix_count=5, context_suffix_count=2)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["ja"],
                          context_aware_enhancer=enhancer)


PERSONAL = {"MY_NUMBER", "PHONE", "POSTAL_CODE", "EMAIL", "PASSPORT", "DRIVERS_LICENSE", "BANK_ACCOUNT",
            "BIRTH_DATE", "PERSON", "ADDRESS", "CUSTOM"}


def analyze(engine: AnalyzerEngine, text: str) -> list:
    return engine.analyze(text=text, language="ja", score_threshold=0.4)


def predict(engine: AnalyzerEngine, text: str) -> dict:
    res = analyze(engine, text)
    ents = [{"type": r.entity_type, "start": r.start, "end": r.end} for r in res]
    cls = 2 if any(e["type"] in PERSONAL for e in ents) else 1
    return {"entities": ents, "class": cls}


def main() -> None:
    custom_terms = json.loads(sys.argv[1]) if len(sys.argv) > 1 else []
    engine = build_engine(custom_terms)
    analyze(engine, "山田太郎さんの電話は090-1234-5678です。")  # warm-up
    print(json.dumps({"ready": True, "versions": versions()}), flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "quit":
            break
        if cmd == "predict":
            t0 = time.perf_counter()
            preds = [predict(engine, t) for t in msg["texts"]]
            out = {"preds": preds, "seconds": time.perf_counter() - t0}
        elif cmd == "throughput":
            texts = msg["texts"]
            t0 = time.perf_counter()
            for t in texts:
                analyze(engine, t)
            out = {"seconds": time.perf_counter() - t0, "chars": sum(len(t) for t in texts)}
        elif cmd == "latency":
            texts, ms = msg["texts"], []
            for i in range(msg["n"]):
                t = texts[i % len(texts)]
                t0 = time.perf_counter()
                analyze(engine, t)
                ms.append((time.perf_counter() - t0) * 1000)
            out = {"ms": ms}
        else:
            out = {"error": f"unknown command {cmd}"}
        print(json.dumps(out), flush=True)


def versions() -> dict:
    from importlib.metadata import version
    return {p: version(p) for p in ("presidio-analyzer", "spacy", "ginza", "ja-ginza")}


if __name__ == "__main__":
    main()
