"""Detection of handling markings and personal data in Japanese administrative text, and a
proposed 機密性 class with its reasons.

    from gennai.policy.detection import detect
    result = detect("個人番号 1234 5678 9018 の山田太郎さん")
    result.proposed_class   # 2
    result.entities         # (Entity(type='MY_NUMBER', start=5, end=19, preview='1*** **** **18', …), …)

Spans are Python string offsets into the ORIGINAL text (detection runs on an NFKC-normalised
copy and maps back, see normalize.py). Previews are masked; the raw value is never stored in
a result, so reprs and logs cannot leak it.

Class proposal (the maximum of everything found, at least 1):
- 機密性3 markings (機密性3, 極秘, 秘 in a marking position) → 3.
- 機密性2 markings (機密性2, 要機密情報, 取扱注意, 部外秘/省外秘…, ○○限り (関係者限り, 課内限り …),
  複製禁止, 配付禁止, 転送禁止, 外部提供禁止, 持出禁止, 暗号化必須) → 2.
- an explicit 機密性1 marking → 1 (it does not lower anything else found).
- personal data of individuals → 2: MY_NUMBER, PASSPORT, DRIVERS_LICENSE, BANK_ACCOUNT,
  BIRTH_DATE, PERSON, ADDRESS (a private person's; officials named in public notices and
  government or organisation addresses in notices are not flagged at all); PHONE, EMAIL and
  POSTAL_CODE when they belong to a private person (a mobile number, 自宅/携帯/本人 context,
  or a text that also holds other personal data or is not a public notice); otherwise 1.
- CORPORATE_NUMBER → 1 (corporate numbers are public).
- CUSTOM → the class configured for the team's term or pattern (default 2).
- content cues for internal deliberations, drafts and bids (未定稿, 検討中の案, 内部検討用,
  内部検討資料, 【内部検討】, （たたき台）, 課外に出さない, 公表前, 未公表, 解禁前, 非公開資料, 取扱いに注意,
  部内協議用, 首長への説明前, 起案用紙, 決裁前, 開札前; 予定価格, 最低制限価格, 入札価格 outside public
  notices), and a 12-digit number labelled マイナンバー/個人番号 that fails the check digit (not a
  My Number) → 2, as a reason only.
- otherwise 1.

Public notices (公示, 告示, お知らせ, 報道発表 …, pages for the public with opening hours, fees or
calls for applications, published bid results, published minutes and rosters of councils; also,
unless the text says it is internal, a draft or unpublished, a text with a contact line for
enquiries naming an office, a headline announcing an action (…を実施します) or a statement that
it is published) name officials, members, speakers and appointees in their role and give office
contacts: those are not flagged. Titled people on an attendance line (出席者：部長 山田 太郎、…) are
not flagged in any text. Tables are read by column (氏名, 住所, 生年月日) outside public notices.
An office's phone (（代表）, the line under 問い合わせ先：…課) or postal code (〒… ○○市役所) is
never a private person's.

Heavier detectors (e.g. a GiNZA NER model) plug in through the `Detector` protocol
(`name` and `detect(text) -> Detection`) and the entry-point group ``gennai.detectors``:

    # the plugin's pyproject.toml
    [project.entry-points."gennai.detectors"]
    ginza = "gennai_ginza:GinzaDetector"     # a class, a factory, or an instance

    load_detector("ginza")                    # "default" gives the built-in detector

gennai itself does not depend on GiNZA or spaCy. A plugin may call `detect()` and merge its
own entities into the result to add recall on top of the default rules.
"""

from gennai.policy.detection.custom import CustomRule, CustomRules
from gennai.policy.detection.detector import (
    ENTRY_POINT_GROUP,
    DefaultDetector,
    available_detectors,
    default_detector,
    detect,
    instructions_detector,
    load_detector,
)
from gennai.policy.detection.identifiers import corporate_number_is_valid, my_number_is_valid
from gennai.policy.detection.results import ENTITY_TYPES, Detection, Detector, Entity, Marking

__all__ = [
    "ENTITY_TYPES",
    "ENTRY_POINT_GROUP",
    "CustomRule",
    "CustomRules",
    "DefaultDetector",
    "Detection",
    "Detector",
    "Entity",
    "Marking",
    "available_detectors",
    "corporate_number_is_valid",
    "default_detector",
    "detect",
    "instructions_detector",
    "load_detector",
    "my_number_is_valid",
]
