"""Person names through SudachiPy (人名/姓/名 part-of-speech tags) plus context.

A run of 人名 tokens counts as a person when it is a full name (姓 + 名), is followed by an
honorific (さん/様/氏/殿/君 …), follows a label (氏名, 申請者, 相談者, 相手方 …) or introduces
itself (鈴木です, 佐藤と申します). Tokens that are not in the dictionary count too when an
honorific follows (ヤマダさん). A surname followed by a space and a short token shaped like a
given name (kana, one kanji, or kanji with a usual given-name ending: 中川 さくら, 高橋 楓) is a
full name when the name ends there (line end, punctuation, です …, or a title glued to it:
岡本 大樹主査). Romanised names in passport order (GARCIA Maria) count after a name label
(氏名（ローマ字）：), and "My name is Anna Smith" in English text.

Labels include household and family fields (世帯主, 世帯員, 同一世帯, 父/母, 長女, 元夫 …); a
relation word is a label, never part of the span ("元夫 若林 剛志" → 若林 剛志). A surname the
dictionary does not know counts before a known given name after a label (世帯主：東 美智子);
a given name the dictionary cuts in two counts (笹川 優斗 = 優 + 斗, 大川 ひまり = ひま + り);
kana names count after a label (相談者：ヨコヤマ ケンジさん, 氏名：ヤマダ タロウ). Also found:
the reading in parentheses after a name (山田 花子（やまだ はなこ）), relatives written with a
surname already found with a given name (長男 東 蒼空 under 世帯主：東 美智子), and a name
alone on the line above the writer's address or phone number (a letter's signature).

Also found: a given name after a family relation and の (夫の健司、, 長男の蒼（3歳）), 姓 + space
+ any short kanji word after a label (氏名 那須 勇気), kana names after a label and a space or
は (名前はミヤザキ ユウト), romanised names before 様/さん/氏 (GARCIA Ana 様), and, outside
public notices, names in a table's 氏名/担当者 column (a surname alone counts).

Officials are not personal data where they act as officials: names next to high public
titles (大臣, 知事, 市長, 教育長 …) are never flagged; names next to other titles (局長, 課長,
会長, 委員, 分団長, 担当 …), public roles (講師, 受賞者 …), everyone in a list after such a title
(委員 A、B、C) and names followed by 氏 are not flagged in a public-notice context (公示/告示/
お知らせ/報道発表, published council minutes and rosters, press releases with a contact line …);
titled names and lists are not flagged on an attendance line (出席者：, 説明員：, 審査委員：) of any
text. Anonymised parties (A氏), names inside a word (ヘボン式) and authors (… 著) are never names.

One SudachiPy tokenizer per thread (tokenizers are not shared between threads); the
dictionary loads once per thread, in about 30 ms.
"""

from __future__ import annotations

import re
import threading
from typing import Any, NamedTuple

from gennai.policy.detection.identifiers import Item
from gennai.policy.detection.prefilter import compile_guarded
from gennai.policy.detection.tables import NO_COLUMNS, Columns, cells

_local = threading.local()
_CHUNK = 4000  # characters per tokenizer call (SudachiPy limits input size)

_HONORIFICS = frozenset(("さん", "様", "さま", "氏", "殿", "君", "くん", "ちゃん", "先生"))
# The honorific of people named in a press release or notice (受賞者 坂下 光男 氏, 講師 … 先生);
# さん (a resident named in a notice) still counts, 様 and 殿 address a letter's reader.
_PUBLIC_HONORIFICS = frozenset(("氏", "先生"))
# A writer speaking for themselves: a resident's letter that mentions a notice is not one.
_FIRST_PERSON = compile_guarded(r"私|わたし|僕|ぼく|当方|我が家|うちの|主人|家内|と申します")
# Family relations written before a name ("妻 山田 花子", "長女：山田 愛", "娘（山田 ひなた）"):
# a label for the name after them, never part of the name.
_RELATION_WORDS = (
    "元夫|元妻|前夫|前妻|内縁の夫|内縁の妻|夫|妻|配偶者|長男|長女|次男|次女|三男|三女|四男|四女|"
    "実父|実母|義父|義母|養父|養母|祖父|祖母|父親|母親|父|母|兄|姉|弟|妹|息子|娘|孫|子|きょうだい|兄弟|姉妹|"
    "むすこ|むすめ|甥|姪|叔父|叔母|伯父|伯母|知人|友人|同居人|婚約者|交際相手|隣人|近隣住民|同僚|上司|部下|亡父|亡母|亡夫|亡妻|亡兄|亡姉|亡弟|亡妹|亡祖父|亡祖母|旧姓"
)
_RELATIONS = frozenset(_RELATION_WORDS.split("|"))
_PERSON_LABELS = (
    r"氏名|名前|お名前|申請者|届出人|相談者|申込者|申出人|請求者|被保険者|被保護者|世帯主|世帯員|同一世帯|保護者|患者|利用者|本人|代表者|"
    r"契約者|受給者|対象者|対象児童|申込児童|児童|連絡者|通報者|依頼者|送付先|宛先|宛名|相手方|譲受人|譲渡人|加害者|被害者|"
    r"キーパーソン|緊急連絡先|お子さん|お子様|(?<![担窓])職員(?=[ \t]*[:：])|申立人|申立者|"
    r"ふりがな|フリガナ|よみがな|ヨミガナ|カナ氏名|ローマ字(?:表記)?|英字(?:氏名)?|口座名義人?|名義人?|届出者|申請人|相談人|依頼人|"
    r"被災者|避難者|負傷者|行方不明者|要救助者|要配慮者|要支援者|被?相続人|申込人|借受人|借入人|お客様|お客さま|借主|貸主|所有者|賃借人|入居者|連帯保証人|保証人|受取人|被?扶養者|要?介護者|受診者|受験者|応募者|納税者|滞納者|"
    r"債務者|来庁者|来訪者|来所者|面談者|登録者|申告者|通告者|求職者|故人|主治医|担当医|かかりつけ医|代筆者|(?<!現場)代理人|記入者|付添人|カタカナ(?:表記)?|From(?=[ \t]*:)|差出人|送信者|Sender|Applicant|Resident|Patient"
)
_LABEL = compile_guarded(
    r"(?:(?:" + _PERSON_LABELS + r"|(?<![A-Za-z])name)[ \t]*(?:名)?[ \t]*(?:\([^)\n]{1,20}\))?[ \t]*[:：は|｜]?[ \t]*"
    r"(?:(?:" + _RELATION_WORDS + r")(?:[ \t]+|の))?(?:\(|（|\")?"
    r"|(?:^|(?<=[\s:：、,(（の]))(?:母方の?|父方の?|義理の)?(?:" + _RELATION_WORDS + r")[ \t]*[:：(（は・]?[ \t]*)$",
    re.I,
)
# A self-introduction after the name: 鈴木です。 / 佐藤と申します / 田中と言います
_SELF_INTRO_AFTER = compile_guarded(r"[ \t]*(?:です|と申します|と申し|と言います|といいます)")
# わたしは グエン・ティ・フオン です: a katakana name (in parts, or two words) in a self-introduction
_KATAKANA_SELF_INTRO = compile_guarded(
    r"(?:(?:わたし|私|僕|ぼく)(?:は|の名前は)[ \t]*|(?:住む|住んでいる|在住の)[ \t]*)"
    r"(?P<n>[ァ-ヴー]{1,10}(?:・[ァ-ヴー]{1,10}){1,4}|[ァ-ヴー]{2,10}[ \t][ァ-ヴー]{2,10})"
    r"[ \t]*(?:です|と申します|といいます|と言います)"
)
# 子どもが2人います（陽斗、結菜）: children's given names listed in parentheses
_CHILDREN_LISTED = compile_guarded(
    r"(?:子ども|子供|こども|息子|娘|孫)[^\n。（(]{0,10}[（(][ \t]*(?P<a>[一-龥々]{1,3}|[ぁ-ゖ]{2,4})[ \t]*[、,・][ \t]*(?P<b>[一-龥々]{1,3}|[ぁ-ゖ]{2,4})[ \t]*[）)]"
)
# 息子（颯）と二人暮らし: a child's given name alone in brackets after the relation, then a particle;
# 母の交際相手(梶谷、40代): a name and an age in brackets after a relation
_RELATION_PAREN_NAME = compile_guarded(
    r"(?:息子|娘|長男|長女|次男|次女|三男|三女|孫|子ども|子供|こども|弟|妹|兄|姉)[ \t]*\([ \t]*"
    r"(?P<n>[一-龥々]{1,3}|[ぁ-ゖ]{2,4}|[ァ-ヴー]{2,6})[ \t]*\)(?=[ \t]*(?:と|が|は|を|に|も|の|、|,|。))"
    r"|(?:" + _RELATION_WORDS + r")[ \t]*\([ \t]*(?P<s>[一-龥々]{2,4})[ \t]*[、,][ \t]*[0-9]{1,3}[ \t]*(?:歳|才|代)"
)
# 長女心愛（小2）, 長男湊（1歳）: a child's given name glued to the relation, with age or grade
_RELATION_GLUED_GIVEN = compile_guarded(
    r"(?:長女|長男|次女|次男|三女|三男|娘|息子|孫)(?P<n>[一-龥々]{1,3})[ \t]*[（(][ \t]*(?:[0-9]{1,2}[ \t]*(?:歳|才|か月|ヶ月|カ月)|(?:小|中|高)[ \t]*[0-9]|年長|年中|年少)"
)
# こども：ファム・ジア・バオ（2022年9月14日うまれ）, 母（渋谷 トシ、昭和12年…）: a name with its date of birth
_NAME_WITH_BIRTH = compile_guarded(
    r"(?:(?:こども|子ども|子供|" + _RELATION_WORDS + r")[ \t]*[:：][ \t]*(?P<k>[ァ-ヴー]{1,10}(?:・[ァ-ヴー]{1,10}){1,4})[ \t]*[（(][^）)\n]{0,6}[0-9]{4}"
    r"|(?:" + _RELATION_WORDS + r")[ \t]*[（(][ \t]*(?P<p>[一-龥々]{1,4}[ \t][一-龥々ぁ-ゖァ-ヴー]{1,4})(?<!さん)(?<!様)[ \t]*(?:さん|様)?[ \t]*[、,][ \t]*(?:明治|大正|昭和|平成|令和|(?:18|19|20)[0-9]{2}(?![0-9\-]))"
    # 長女（結衣、令和3年5月12日生）: a given name alone, then a date of birth
    r"|(?:" + _RELATION_WORDS + r")[ \t]*[（(][ \t]*(?P<g>[一-龥々]{1,3}|[ぁ-ゖ]{2,4}|[ァ-ヴー]{2,6})[ \t]*[、,][ \t]*"
    r"(?:明治|大正|昭和|平成|令和|[0-9]{4})[^）)\n]{0,14}生)"
)
# 長男の妻 高見沢 アナ・パウラ（ブラジル国籍）: a relation, then a kanji surname and a katakana given name
_RELATION_THEN_MIXED_NAME = compile_guarded(
    r"(?:" + _RELATION_WORDS + r")[ \t]+(?P<n>[一-龥々]{1,4}[ \t]+[ァ-ヴー]{2,10}(?:・[ァ-ヴー]{1,10}){0,3})(?=[ \t]*(?:[（(、,。\n]|$))"
)
_SPEAKER_COLON = compile_guarded(r"[ \t]*[:：]")
_LINE_HEAD = compile_guarded(r"[ \t]*(?:[・\-*•]|[0-9]{1,2}[.．)）]|[（(][0-9]{1,2}[)）]|[①-⑳])?[ \t]*")
_STAFF_TITLE_GLUED = compile_guarded(
    r"(?:主事|主査|主任|技師|係長|主幹|主査補|課長補佐|補佐|課長|室長|所長|次長|部長|教諭|教員|講師|教頭|係員|司令補|消防士長|消防士|看護師|保育士|保健師|栄養士|司書|指導員|相談員|会計年度任用職員|職員|"
    r"書記長|委員長|民生委員|児童委員|民生児童委員)(?![一-龥])"
)
_PROFESSIONAL_AFTER = compile_guarded(r"(?:医師|弁護士|司法書士|行政書士|税理士|社会保険労務士|社労士)(?![一-龥])")
_OFFICE_IN_PARENS = compile_guarded(r"[ \t]*[（(][^）)\n]{1,12}(?:課|係|室|部|局|所|センター)[）)]")
_OCCUPATION = compile_guarded(
    r"(?:保健|看護|栄養|管理栄養|薬剤|介護|保育|弁護|税理|社労|行政書|医|歯科医|技|運転|消防|社会福祉|精神保健福祉|理学療法|作業療法|調理)[師士]$"
)
_PERSONAL_MATTER = compile_guarded(
    r"病気|休暇|休職|療養|復職|けが|怪我|負傷|懲戒|処分|診断|入院|通院|健康診断|健診|要治療|メンタル|ハラスメント|介護休業|育児休業|"
    r"育休|産休|欠勤|遅刻|勤務態度|面談記録|事故|感染|陽性|濃厚接触|容疑|収賄|贈賄|横領|不祥事|非違行為|事情聴取|任意聴取|逮捕|捜査|パワハラ|セクハラ|服務事故"
)
# An internal personnel paper (a transfer plan, a successor, a promotion): the staff it names
# are the subject of a personal matter, even by surname alone after their title
_PERSONNEL_PAPER = compile_guarded(
    r"人事異動|異動(?:案|内示|希望)|内示|昇任|昇格|配置換|配置案|人事評価|勤務評定|後任|退職勧奨|勧奨退職|定年退職|再任用|任用候補|昇任候補"
)
# …their post now, or where they go: 宮内（現 職員課長補佐）, 佐久間 福祉課 → …, 小松原 → 税務課
_POST_AFTER = compile_guarded(
    r"[ \t]*(?:\([ \t]*(?:現|前|元)(?:[ \t]|職|所属)|→|[ \t]+[^\s、。,()]{1,12}?(?:課|係|室|部|局|所|センター)(?![一-龥]))"
)
# A person spoken of by surname: 大谷という人, 志村という方
_CALLED_AFTER = compile_guarded(r"[ \t]*という(?:人|方|男性|女性|男|女|者|住民|職員|名前|営業担当|担当者?|営業)")
# A given name written after the surname with a space, where SudachiPy does not know it as a
# given name (中川 さくら, 高橋 楓): a short token, then the end of the name (line end, space,
# punctuation, honorific or self-introduction).
_NOT_GIVEN_NAMES = frozenset(
    ("以下", "以上", "他", "外", "等", "宛", "宛て", "各位", "一同", "両名", "名", "ほか", "など", "まで", "から", "記入", "署名", "自署", "押印", "印", "本人", "不明", "故人", "死亡", "逝去", "他界")
)
_NAME_END = compile_guarded(
    r"(?:[ \t\n\r、,，。（(「)）/|:：]|$|です|と申|と言|といい|さん|様|さま|氏|殿|君|くん|ちゃん|名義"
    r"|[一-龥]{0,5}?(?:長|士|官|主任|主査|主事|補佐|技師|教諭|講師|医師|看護師|保育士)(?![一-龥]))"
)
_NAME_END_STRICT = compile_guarded(
    r"(?:[\n\r、,，。（(「)）]|[ \t]*(?:$|[|/])|です|と申|と言|といい|さん|様|さま|氏|殿|君|くん|ちゃん"
    # a row of a roster: the name, then a date (of birth) after a space
    r"|[ \t]+(?=(?:(?:明治|大正|昭和|平成|令和|[MTSHR]\.?)[ \t]*(?:[0-9]{1,2}|元)|(?:18|19|20)[0-9]{2})"
    r"[ \t]*[/年.\-][ \t]*[0-9]{1,2}[ \t]*[/月.\-][ \t]*[0-9]{1,2}(?![0-9])(?:[ \t]*日)?(?![ \t]*日)"
    r"(?![ \t]*(?:付|から|まで|に|より|開催|実施|施行|予定))))"
)
# A surname written alone that introduces itself: 大和田と申します (the dictionary may know the
# word only as a place name).
_INTRO_STRONG = compile_guarded(r"と申します|と申し")
# Tokens before a space and a known given name that are not a surname (東 美智子 is a name; 長女 美智子, 担当 美智子 are not).
_PERSON_NOUN = compile_guarded(r"[者員人民客]$")
_NOT_SURNAME = frozenset(("氏名", "名前", "担当", "担当者", "本人", "世帯主", "相手", "方", "者", "様", "各位", "宛", "名", "代表", "記入", "署名", "印"))
_PLACE_WORD = compile_guarded(r".*(?:駅|県|市|町|村|区|港|空港|方面|付近|周辺|近く|線|通り|公園)$")
# Romanised names after a name label, passport order: GARCIA Maria, WANG Fang
# Romanised names may carry diacritics (Lê Văn Thành, José, Đặng, Müller): in the patterns of
# romanised names, A-Z and a-z stand for these letters too.
_UPPER_MORE = "À-ÖØ-ÞĐƠƯ"
_LOWER_MORE = "ß-öø-ÿā-žđơưạ-ỹ"


def _latin(pattern: str) -> str:
    """The pattern with its A-Z and a-z ranges widened to accented Latin letters (once)."""
    pattern = re.sub("A-Z(?!" + _UPPER_MORE[0] + ")", "A-Z" + _UPPER_MORE, pattern)
    return re.sub("a-z(?!" + _LOWER_MORE[0] + ")", "a-z" + _LOWER_MORE, pattern)


def _compile_latin(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """compile_guarded for a pattern of romanised names (see _latin)."""
    return compile_guarded(_latin(pattern), flags)


_HAS_UPPER = _compile_latin(r"[A-Z]{2}")
_LATIN_WORD = _latin(r"[A-Z](?:'[A-Z])?[a-z']+(?:-[A-Za-z][a-z']+)?")  # (O'Brien)
# The particles inside a romanised surname: Maria Clara dos Santos, Ludwig van Beethoven
_LATIN_PARTICLE = r"(?:(?:dos|das|da|de|del|della|di|do|du|van|von|der|den|la|le|bin|binti|al|el|ter|ten)[ \t]+)?"
# A middle initial: Michael J. O'Brien, Jonalyn Mae B. Reyes
_LATIN_INITIAL = r"(?:[A-Z]\.[ \t]+)?"
# Words that begin a sentence introducing someone, never a name's first word (Soy Rosa …, Saya Agus …)
_INTRO_WORD = r"(?:Soy|Saya|Nama|Ako|Em|Tôi|Ich|Je|Eu|Me|Mi)(?![A-Za-z])"
_LATIN_NAME = _compile_latin(
    r"(?<![A-Za-z])(?!" + _INTRO_WORD + r")(?:"
    # MENDOZA, Jose Ricardo; QUISPE MAMANI, Carlos Alberto; Reyes, Jonalyn Mae B.
    r"(?:[A-Z]{2,}(?:-[A-Z]{2,})?(?:[ \t]+[A-Z]{2,}(?:-[A-Z]{2,})?){0,2}|" + _LATIN_WORD + r"),[ \t]*"
    + _LATIN_WORD + r"(?:[ \t]+" + _LATIN_WORD + r"){0,2}(?:[ \t]+[A-Z]\.)?"
    r"|[A-Z][A-Z'\-]+(?:[ \t]+[A-Z][A-Za-z'\-]+){1,3}"
    # Maria Cristina DELA CRUZ, Ana Paula dos SANTOS OLIVEIRA
    r"|" + _LATIN_WORD + r"(?:[ \t]+" + _LATIN_WORD + r"){0,2}[ \t]+" + _LATIN_PARTICLE + r"[A-Z]{2,}(?:-[A-Z]{2,})?(?:[ \t]+[A-Z]{2,}(?:-[A-Z]{2,})?){0,2}"
    # Rosa Elena Quispe de Mamani, Michael J. O'Brien
    r"|(?P<given>" + _LATIN_WORD + r"(?:[ \t]+" + _LATIN_INITIAL + _LATIN_PARTICLE + _LATIN_WORD + r"){1,3}))(?![A-Za-z])"
)
_HAS_CAPITALISED = _compile_latin(r"[A-Z][a-z]+[ \t]+[A-Z][a-z]")
# On the same line after a romanised name: a phone number or an e-mail address (a row of contacts):
# Pham Van Long 080-…
_CONTACT_AFTER = compile_guarded(r"(?:[ \t]+|[ \t]*[/|][ \t]*)(?:\+?[0-9(][0-9() \-]{8,}[0-9]|[A-Za-z0-9._%+\-]+@)")
_CONTACT_PAREN_AFTER = compile_guarded(r"[ \t]*\([ \t]*(?:TEL|Tel|電話|携帯)?[ \t]*[:：]?[ \t]*0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}[ \t]*[)、,]")
# Maria Luisa FERNANDESです, "I am Rahul SHARMA": a romanised name introducing its bearer
_LATIN_SELF_INTRO_AFTER = compile_guarded(r"[ \t]*(?:です|と申します|といいます|と言います)")
_I_AM_BEFORE = _compile_latin(
    r"(?<![A-Za-z])(?:I am|I'm|[Tt]ôi là|[Tt]ên tôi là|[Ee]m tên là|[Tt]ên em là|[Ee]m là|[Mm]ình là|[Nn]ama saya|(?<![a-z][ \t])[Ss]aya|"
    r"[Aa]ko po si|[Aa]ko si|[Ss]oy|[Mm]e llamo|[Mm]i nombre es|[Ee]u sou|[Mm]e chamo|[Mm]eu nome é|[Jj]e m'appelle|[Jj]e suis|[Ii]ch bin|[Ii]ch heiße"
    # a relative named in Spanish, Portuguese, Tagalog, Indonesian or Vietnamese: madre de Diego Quispe
    r"|(?:madre|padre|hij[oa]|espos[oa]|mãe|pai|filh[oa]|marido|anak(?: ko| saya)?|asawa(?: ko)?|suami|istri|con trai|con gái|vợ|chồng)[ \t]+(?:de[ \t]+|do[ \t]+|da[ \t]+|ni[ \t]+)?)[ \t]*$"
)
# A surname with its reading, introducing its bearer: 百目鬼（どうめき）と申します
_INTRO_AFTER_BRACKET = compile_guarded(r"\)[ \t]*(?:と申し|です|といいます|と言います)")
_SURNAME_READING_INTRO = compile_guarded(
    r"(?<![一-龥々])(?P<n>[一-龥々]{1,4}(?:[ \t][一-龥々]{1,3})?)[ \t]*\([ \t]*(?P<r>[ぁ-ゖー]{2,8}(?:[ \t][ぁ-ゖー]{1,8})?|[ァ-ヴー]{2,8}(?:[ \t][ァ-ヴー]{1,8})?)[ \t]*\Z"
)
# A row of a list that begins with a case or candidate code, then the name and a wide gap or a
# number: S-0117　四十物 琴音　1990/01/16, S-0105　石動 陽翔　　　　412.5
_CODE_THEN_NAME = compile_guarded(
    r"^[ \t]*(?:[A-Z]{1,3}-?[0-9]{2,6}|No\.?[ \t]*[0-9]{1,4})[ \t]+"
    r"(?P<n>[一-龥々]{1,4}[ \t][一-龥々ぁ-ゖ]{1,4}|[ァ-ヴー]{2,10}(?:・[ァ-ヴー]{1,10}){1,3})(?=[ \t]{2,}|[ \t]+[0-9]|\t|[ \t]*$)",
    re.M,
)
# A list item: a name and the person's age in brackets (・中川 莉愛（5）：てんかん, ・ソン・ミンジュ（68）)
_ITEM_NAME_AGE = compile_guarded(
    r"^[ \t]*(?:[・\-*•]|[①-⑳]|[0-9]{1,2}[.)]?)?[ \t]*"
    r"(?P<n>[一-龥々]{1,4}[ \t][一-龥々ぁ-ゖ]{1,4}?|[ァ-ヴー]{2,10}(?:[・ \t][ァ-ヴー]{1,10}){1,3})"
    r"[ \t]*(?:さん|様|氏|君|くん|ちゃん|殿|主事|主査|主任|技師|係長|主幹|課長補佐|補佐|課長|室長|所長|次長|部長|教諭|教員|講師|教頭|係員|消防士長?|看護師|保育士|保健師|職員|委員)?"
    r"[ \t]*\Z",  # (\Z: the end of the window, where the age begins; $ would also match at a line end)
    re.M,
)
_AGE_BRACKET = compile_guarded(r"\([ \t]*[0-9]{1,3}[ \t]*(?:歳|才)?[ \t]*[)、,]")
# A pupil's school year before the name in a list: ・4年 サントス ケヴィン, ・3年 Aiko Dela Cruz
_GRADE_BEFORE = compile_guarded(r"(?:^|[\s・])(?:[小中高]?[1-6][ \t]?年生?|[0-9]{1,2}年[0-9]{1,2}組)[ \t]+$")
# わたしは Rahman Md Habibur です: a romanised name in a Japanese self-introduction (です after it)
_WATASHI_BEFORE = compile_guarded(r"(?:わたし|私|僕|ぼく)(?:は|の名前は)[ \t]*$")
# A name in Hangul after a Korean self-introduction (저는 박서연（朴 緒妍）です), or in Chinese
# characters with its reading after a Chinese one (我是住在川口市的王 建华（ワン・ジェンホア）)
_FOREIGN_SELF_INTRO = compile_guarded(
    r"(?:저는|제[ \t]*이름은)[ \t]*(?P<h>[가-힣]{2,4})(?=[ \t]*(?:입니다|이에요|예요|이고|[(、,]))"
    r"|(?:我是|我叫|我的名字是)(?:住在[^\n，。,]{1,12}?的)?[ \t]*(?P<c>[一-龥]{1,2}[ \t][一-龥]{1,2}|[一-龥]{2,4}(?=[ \t]*\()|[一-龥]{2,3}(?<![人国生员师])(?=[ \t]*,))"
)
# Words that make a romanised phrase a place or an organisation, not a person
_ORGANISATION_WORD = compile_guarded(
    r"\b(?:Hall|Cent(?:er|re)|Sight|Tower|Building|Bldg|Park|Station|Hotel|Office|Inc|Ltd|Co|Corp|Corporation|Company|"
    r"University|College|School|Hospital|Clinic|City|Prefecture|Ward|Japan|Tokyo|Osaka|Kyoto|Bank|Shop|Store|Cafe|"
    r"Restaurant|Museum|Library|Gallery|Studio|Church|Temple|Shrine|Airport|Port|Bridge|Road|Street|Avenue|Plaza|"
    r"Square|Garden|Gardens|Mall|Market|Group|Association|Foundation|Institute|Agency|Ministry|Department|Division|"
    r"Team|Project|Service|Services|Systems|Solutions|Lab|Labs|Design|Consulting|Desk|Support|Info|Information|Bureau|"
    # products and platforms: わたしは Google Cloud です, Microsoft Teams で
    r"Google|Microsoft|Amazon|Apple|Cloud|Teams|Zoom|Slack|Windows|Excel|Word|PowerPoint|Outlook|Chrome|Copilot|Gemini|ChatGPT|OpenAI)\b"
)
# A numbered row before a name: "3 LEE Soo-jin", "② Maria SANTOS"
_ROW_NUMBER = compile_guarded(r"[ \t]*(?:[0-9]{1,3}[.)]?|[①-⑳]|[・•])[ \t]*")
_HONORIFIC_AFTER = compile_guarded(r"[ \t]*(?:様|さん|さま|氏|殿)")
_LATIN_TITLE_AFTER = compile_guarded(
    r"[ \t]*(?:様|さん|さま|氏|殿|博士|教授|准教授|先生)"
    r"|[ \t]*[（(][^）)\n]{0,4}(?:国籍|[0-9]{1,3}[ \t]*(?:歳|才))"  # Emily Clarke（英国籍、4年目）
)
# 国税徴収官（50代男性、宇野）: a surname after the person's age and sex in parentheses
_SURNAME_AFTER_AGE = compile_guarded(
    r"[（(][ \t]*[0-9]{1,3}[ \t]*(?:代|歳)[^、,）)\n]{0,6}[、,][ \t]*(?P<n>[一-龥々]{1,3})[ \t]*[）)]"
)
_SALUTATION = compile_guarded(r"(?:Dear|Hello|Hi|To|Mr\.?|Ms\.?|Mrs\.?|Dr\.?|Prof\.?)[ \t]+")
# Maria SANTOS（1990-12-04生）: a romanised name followed by a birth date
_BIRTH_PAREN_AFTER = compile_guarded(r"[ \t]*[（(][^）)\n]{4,20}?生")
# 娘のMei Tanaka-Brown: a romanised name after a family relation and の
# 子ども（TRAN Minh Anh、2021/03/15生）: a romanised name in brackets after a family relation
_RELATION_PAREN_BEFORE = compile_guarded(r"(?:子ども|子供|こども|" + _RELATION_WORDS + r")[ \t]*[（(][ \t]*$")
_RELATION_NO_BEFORE = compile_guarded(r"(?:" + _RELATION_WORDS + r")[ \t]*の[ \t]*$")
_HIGH_TITLES = (
    r"(?:代表取締役(?:社長|会長)?|代表執行役|(?:公営)?企業管理者|危機管理監|技監|総監|副?大臣|大臣政務官|政務官|副?長官|副?知事|副?市長|副?町長|副?村長|区長|総理大臣|首相|議長|副議長|委員長|大使|総裁|"
    r"事務次官|次官|知事公室長|長官官房長|教育長|副教育長|教育委員長|病院事業管理者|事業管理者|会計管理者|学長|副学長|総長)"
)
_TITLES = (
    r"(?:局長|部長|課長|室長|審議官|参事官|企画官|係長|主査|主事|主任|補佐|課長補佐|所長|署長|校長|理事長|会長|社長|"
    r"教授|准教授|センター長|事務局長|官房長|統括官|調整官|専門官|担当者?|広報担当|問い?合わ?せ先|"
    r"副会長|座長|副座長|部会長|委員|幹事|参事|主幹|理事|技師|教諭|教頭|副校長|園長|"
    r"消防司令長|消防司令補|消防司令|消防士長|消防副士長|消防士|警視|警部補|警部|巡査部長|巡査長|巡査|"
    r"次長|本部長|館長|院長|病院長|支所長|支店長|参与|顧問|監事|議員|監査委員|助教|助手|研究員|主任研究員|取締役|常務取締役|専務取締役|常務|専務|執行役員|副社長|支配人|店長)"
)
_TITLE_WORD = compile_guarded(r"(?:" + _HIGH_TITLES + "|" + _TITLES + r"|先生|先輩|議員|委員|職員|会員|氏|様)")
# People named in a public role in notices and press releases: speakers, performers, authors,
# award winners (講師：○○大学教授 山田 太郎 氏, 受賞者 山田 花子さん, 山田 太郎 著).
_PUBLIC_ROLES = (
    r"(?:講師|著者|作者|筆者|編者|訳者|監修者?|出演者?|演奏者?|指揮者?|講演者?|登壇者|パネリスト|コーディネーター|司会|"
    r"受賞者|表彰者|受章者|入賞者|功労者|被表彰者|選考委員|審査員|現場代理人|現場責任者|監督員|主任技術者|監理技術者)"
)
# any office ending in 長 (分団長, 班長, 園長 …) and a few others, named before a person in a
# public notice or an attendance list
_ANY_HEAD = (
    r"(?:[一-龥]{1,4}長|会頭|頭取|団員|会員|[一-龥]{0,6}(?:研究員|専門員|指導員|相談員|支援員|調査員|学芸員|司書|助教)"
    r"|[一-龥]{1,7}官(?![一-龥])"  # any office ending in 官: 首席登記官, 主任監察監督官, 首席遺言書保管官, 技官
    r"|(?:紹介者|出場者|発表者|出品者|優勝者?|準優勝|最優秀賞|優秀賞|奨励賞|入選|金賞|銀賞|銅賞|代表選手)"
    # decorations in a published list of recipients: 瑞宝双光章 大平 忠夫, 藍綬褒章 佐藤 真知子
    r"|(?:瑞宝|旭日)[一-龥]{1,3}章|[藍黄紺紫緑紅]綬褒章)"
)
_TITLE_BEFORE = compile_guarded(r"(?:" + _HIGH_TITLES + "|" + _TITLES + "|" + _PUBLIC_ROLES + "|" + _ANY_HEAD + r")[ \t]*[|｜]?[ \t]*[:：の]?[ \t]*$")
# A speaker in minutes: ○農業政策課長（井上 剛） — an official named in that role, in any text.
_TITLE_PAREN_BEFORE = compile_guarded(
    r"(?:(?:" + _HIGH_TITLES + "|" + _TITLES + "|" + _ANY_HEAD + r")[ \t]*[（(]"
    r"|[（(○◯][ \t]*[^\n()（）:：]{0,12}?(?:" + _HIGH_TITLES + "|" + _TITLES + "|" + _ANY_HEAD + r")"
    r"|○?[ \t]*[0-9]{1,2}[ \t]*番[ \t]*[（(、,])(?:[ \t]*[一-龥々]{1,4}[ \t])?[ \t]*$"
)
# A label, then an affiliation and a title, then the name: 相手方：同課 係長 門脇, 調査対象者：工学研究科 助教 篠原
_LABEL_THEN_TITLE = compile_guarded(
    r"(?:" + _PERSON_LABELS + r")[ \t]*[:：][^\n:：。()（）]{0,24}?(?:" + _TITLES + "|" + _ANY_HEAD + r")[ \t]*$"
)
# In a notice: a school and year or a student named before a person (紹介者：城東高校2年 藤本 遥さん,
# 大学院生の石黒 彩花さん): a student named in a published result or press release.
_AFFILIATION_BEFORE = compile_guarded(
    r"(?:高校|高等学校|中学校|中学|小学校|大学|大学院|高専|学院|学園|学校)[ \t]*(?:[0-9一二三四五六][ \t]*年生?)?[ \t]*$"
    r"|(?:大学院生|院生|学生|研究生|生徒)[ \t]*の?[ \t]*$"
)
# In a notice: the person is appointed, retires or wins (小笠原 直樹（おがさわら なおき）が就任します).
_APPOINTED_AFTER = compile_guarded(
    r"[ \t]*(?:[（(][^）)\n]{0,20}[）)])?[ \t]*(?:が|は|を|氏が|氏は)?[ \t]*(?:就任|退任|着任|離任|選任|任命|再任|昇任|受賞|受章|入賞|優勝)"
)
# A notice announcing an appointment or an award: even a labelled 氏名 in it names the appointee.
_APPOINTMENT_NOTICE = compile_guarded(
    r"(?:選任|就任|任命|人事異動|委嘱|退任|着任|叙勲|受章|受賞|表彰)(?:者)?(?:について|のお知らせ|が決まりました|しました|します|されました)"
)
# Names omitted honorifics in a published list: （敬称略）
_HONORIFICS_OMITTED = compile_guarded(r"敬称略|敬称は省略")
# A sample form: 【記入例】 at the top; the names in it are examples.
_SAMPLE_FORM = compile_guarded(r"^[ \t\n]*[【\[〔(（<＜]?[ \t]*(?:記入例|記載例|見本|サンプル|作成例)")
_AUTHOR_AFTER = compile_guarded(r"[ \t]*(?:著|編著|編|訳|監修|作|画|撮影|作詞|作曲)(?![一-龥])")
# 夏目漱石の『坊っちゃん』: a name written as one word before the title of a work
_WORK_AFTER = compile_guarded(r"の?[『「]")
_HIGH_BEFORE = compile_guarded(_HIGH_TITLES + r"[ \t]*[:：は]?[ \t]*$")  # 市長：…, 市長は鶴田 恭平
# A title is not one where its last character begins a place name: 神戸市長田区 (市 + 長田区), 北区長岡町
_NOT_A_PLACE_AFTER = r"(?![一-龥]{0,3}(?:区|町|村|郡|丁目))"
_HIGH_AFTER = compile_guarded(r"^[ \t]*(?:[一-龥]{1,8}?)?" + _HIGH_TITLES + _NOT_A_PLACE_AFTER)
_TITLE_AFTER = compile_guarded(r"^[ \t]*(?:[一-龥ぁ-ゖァ-ヴー]{1,10}?)?(?:" + _HIGH_TITLES + "|" + _TITLES + ")" + _NOT_A_PLACE_AFTER)
# A list of people after a title: "委員 土井 晴美、森下 修（公募）、坂口 亜希子" (each of them a
# member named in that role).
_LIST_AFTER_TITLE = compile_guarded(
    r"(?:" + _HIGH_TITLES + "|" + _TITLES + "|" + _PUBLIC_ROLES + "|" + _ANY_HEAD + r"|構成員)[ \t]*[:：]?[ \t]*"
    r"(?:[^\n、,。:：()（）]{1,12}(?:[ \t]*[（(][^\n)）]{0,25}[）)])?[ \t]*[、,][ \t]*){1,10}$"
)
# A line listing the attendants or members of a meeting or a selection board (出席委員：, 説明員：,
# 審査委員：): the people on it with a title, or listed after one, are named in their role, in
# public and internal papers alike.
def _line_label(words: str) -> str:
    """A line that starts with one of words as its label: ・出席委員（5名）：…"""
    return r"[ \t]*[・※]?[^\n:：]{0,8}?(?:" + words + r")(?:[ \t]*[（(][^）)\n]{0,8}[）)])?[ \t]*[:：]"


_ROSTER_LINE = compile_guarded(_line_label(r"出席(?:した|する)?(?:職員|者|委員)?|説明員|審査委員|選定委員|評価委員|委員|構成員|理事者|参加者"))
# 教諭（小山 健太、保健体育）が: more than the name in the brackets, then a particle (a person, not a speaker label)
_MORE_IN_PARENS = compile_guarded(r"[ \t]*[、,][^)\n]{1,20}\)[ \t]*(?:が|は|を|に|の|と)")
# 同社営業部 石黒課長, 開発事業部 藤原部長、桑島主任: a company's staff by surname and title after its department
_COMPANY_TITLE_GLUED = compile_guarded(r"(?:部長|課長|次長|主任|係長|社長|専務|常務|所長|支店長|室長|営業|担当)(?![一-龥])")
_COMPANY_FORMS = r"株式会社|有限会社|合同会社|\(株\)|\(有\)"
_COMPANY_BEFORE = compile_guarded(
    r"(?:" + _COMPANY_FORMS + r"|同社|先方)[^\n。:：]{0,30}?(?:(?:部|課|室|支店|営業所|本社)[ \t]*|の)"
    r"(?:[一-龥]{1,4}(?:部長|課長|次長|主任|係長|担当)[ \t]*[、,][ \t]*)?$"
)
# エレベーターは全基停止します: two one-character name words glued before a verb noun are no name
_GLUED_TWO_AFTER = compile_guarded(r"(?:停止|運転|点検|交換|設置|撤去|開始|終了|休止|稼働|稼動|完了)")
# A selection board's members (評価委員：…): named in their role once published, private before
_SELECTION_BOARD = compile_guarded(_line_label(r"審査委員|選定委員|評価委員"))
# A company's contact person in an internal paper: "株式会社○○ 2,310,000円（担当：宮内）"
_VENDOR_CONTACT = compile_guarded(r"(?:" + _COMPANY_FORMS + r")[^\n]{0,40}?担当者?[ \t]*[:：][ \t]*$")
_NOT_NAMES = frozenset(("申立人", "申立", "申立者"))
_ANIMAL_LABEL_BEFORE = compile_guarded(r"(?:犬|猫|ペット|動物|愛犬|愛猫|飼い犬|飼い猫)の?(?:名前|呼び名|なまえ)[ \t]*[:：は]?[ \t]*$")
_LETTER_SPACED = compile_guarded(r"(?:^|[ \t])[一-龥][ \t][一-龥][ \t]+$")
_GLUED_NUMBER_AFTER = compile_guarded(r"[0-9一二三四五六七八九十]")
_PLACEHOLDER = compile_guarded(r"[A-Za-z]|[○〇×◯●■□△*＊]+|某")
_SUFFIX_AFTER = compile_guarded(r"[式流法型派的語風系製産賞杯]")
# 担当：総務課 佐藤 / 問合せ先 総務部総務課 鈴木
_INSTITUTION_AFTER = compile_guarded(
    r"^(?:内閣|政権|美術館|記念館|文学館|博物館|財団|記念|文庫|賞|通り|像|邸|旧居|生家|研究所|工房|商店|工務店|建設|組(?![一-龥])|製作所|"
    r"農園|医院|歯科|クリニック|総合病院|病院|整形外科|心療内科|内科|外科|眼科|皮膚科|小児科|耳鼻(?:咽喉)?科|産婦人科|精神科|支店|本店|営業所|出張所|書店|食堂|旅館|酒造|商会|ゆかり|"
    # a place named after a person, or a place name read as one: 佐田岬半島, 宗像大社前駅
    r"半島|海岸|湾|港|駅|空港|温泉|峠|ダム|湖|岬|公園|大橋|トンネル|インターチェンジ|IC(?![A-Za-z]))"
)
_CONTACT_BEFORE = compile_guarded(
    r"(?:担当|担当者|問い?合わ?せ先?|連絡先|お問い合わせ)[ \t]*[:：]?[ \t]*[^\n。]{0,20}?(?:課|室|係|部|局|班|センター|事務局|省|庁|所)[ \t]*$"
)


def _tokenizer() -> Any:
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import Dictionary, SplitMode

        # No path-rewrite plugins (joining numerals and katakana OOV runs): a third faster,
        # and names do not need them. Of each word's dictionary entry only the part of speech
        # is read (not readings or normalised forms): a sixth faster.
        dictionary = Dictionary(config='{"pathRewritePlugin": []}')
        tok = dictionary.tokenizer(SplitMode.C, fields={"pos"})
        _local.tokenizer = tok
        _local.dictionary = dictionary
        _local.categories = _categories(dictionary)
    return tok


def _categories(dictionary: Any) -> list[str]:
    """The category of every part-of-speech id of the dictionary, indexed by id (a list
    lookup per morpheme instead of a part_of_speech() call)."""
    categories = []
    while (pos := dictionary.pos_of(len(categories))) is not None:
        categories.append(_category(pos))
    return categories


def _category(pos: tuple[str, ...]) -> str:
    if pos[1] == "固有名詞" and pos[2] == "人名":
        return {"姓": "sei", "名": "mei"}.get(pos[3], "name")
    if pos[1] == "固有名詞":
        return "proper"
    if pos[0] == "空白":
        return "space"
    if pos[0] == "名詞":
        return "noun"
    return "other"


def _morphemes(tokens: Any, offset: int) -> tuple[list[tuple[int, int, str, str]], list[int]]:
    """(start, end, category, surface) of each morpheme, offsets into the whole text, and the
    indexes of the morphemes that can start a name: a name or proper-noun tag, a family
    relation, the word before an honorific (and the honorific). The category comes from a list
    indexed by part-of-speech id; the offsets from the surfaces' lengths (the morphemes cover
    the chunk end to end). One pass: SudachiPy makes a new object for each morpheme on every
    pass, which costs more than the calls."""
    categories = _local.categories
    morphemes: list[tuple[int, int, str, str]] = []
    candidates: list[int] = []
    append = morphemes.append
    pos = offset
    for m in tokens:
        surface = m.surface()
        end = pos + len(surface)
        cat = categories[m.part_of_speech_id()]
        if cat in _CANDIDATE_CATS or surface in _WATCHED_WORDS:
            if surface in _HONORIFICS:
                candidates.append(len(morphemes) - 1)
            candidates.append(len(morphemes))
        append((pos, end, cat, surface))
        pos = end
    return morphemes, candidates


def _chunks(text: str) -> list[tuple[int, str]]:
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        end = min(n, pos + _CHUNK)
        if end < n:
            cut = text.rfind("\n", pos, end)
            if cut <= pos:
                cut = text.rfind("。", pos, end)
            if cut > pos:
                end = cut + 1
        out.append((pos, text[pos:end]))
        pos = end
    return out


_CHILD_HONORIFICS = frozenset(("くん", "ちゃん", "君"))
# Words before ちゃん/くん that are not names: 赤ちゃん, お兄ちゃん, おばあちゃん …
_NOT_CHILD_NAMES = frozenset(
    ("赤", "兄", "姉", "お兄", "お姉", "母", "父", "坊", "婆", "爺", "ばあ", "じい", "にい", "ねえ", "おばあ", "おじい", "おにい",
     "おねえ", "おば", "おじ", "かあ", "とう", "おかあ", "おとう", "みな", "皆", "ママ", "パパ", "ワン", "ニャン", "お嬢", "嬢", "孫", "姪", "甥", "弟", "妹")
)


def _child_name(surface: str) -> bool:
    """Could this word, written before くん/ちゃん, be a child's given name?"""
    if surface in _NOT_CHILD_NAMES or surface in _RELATIONS:
        return False
    if _is_kanji(surface):
        return len(surface) <= 2 and _given_name_shape(surface, len(surface) == 2)
    return bool(_GIVEN_KANA.fullmatch(surface)) and len(surface) >= 2


# A child's given name in hiragana before くん/ちゃん, which the dictionary may cut into a
# name and a particle (ゆう + と + くん): たぶん ゆうとくん、小学1年生くらい
_KANA_CHILD = compile_guarded(r"(?<![ぁ-ゖ])(?P<n>[ぁ-ゖ]{2,4})(?=くん|ちゃん)")
_PLACE_BEFORE = compile_guarded(r"[都道府県市区町村郡立]$")
_NAME_CATS = frozenset(("sei", "mei", "name"))
_CANDIDATE_CATS = frozenset(("sei", "mei", "name", "proper"))
_WATCHED_WORDS = _RELATIONS | _HONORIFICS
_GLUED = compile_guarded(r"[一-龥]$")
_KANA_GIVEN_END = compile_guarded(r"[子江代枝美恵乃世](?![一-龥ぁ-ゖァ-ヴ])")
_HIRAGANA_TAIL = compile_guarded(r"[ぁ-ゖ](?=[（(、,]|[ \t]*\r?\n)")
_KATAKANA = compile_guarded(r"[ァ-ヴー・=＝]+$")
_KATAKANA_WORDS = compile_guarded(r"[ァ-ヴー・=＝ \t]+")  # katakana words, with spaces between them


class Chunk(NamedTuple):
    """One tokenizer call's part of the text: SudachiPy's morphemes, the same as (start, end,
    category, surface) tuples with offsets into the whole text, and the indexes of those that
    can start a name."""

    tokens: Any
    morphemes: list[tuple[int, int, str, str]]
    candidates: list[int]


def analyse(text: str) -> list[Chunk]:
    """The morphological analysis of text, chunk by chunk (shared by the names rules and the
    wording model, so the text is tokenized once)."""
    tok = _tokenizer()
    out = []
    for offset, chunk in _chunks(text):
        tokens = tok.tokenize(chunk)
        morphemes, candidates = _morphemes(tokens, offset)
        out.append(Chunk(tokens, morphemes, candidates))
    return out


def find_people(
    text: str,
    public_notice: bool,
    contacts: list[Item] | None = None,
    columns: Columns = NO_COLUMNS,
    *,
    titled_notice: bool = False,
    analysis: list[Chunk] | None = None,
) -> list[Item]:
    """Person names in text. `contacts` (addresses, phone numbers … already found) let a
    name written alone on the line above them count as the writer's signature; `columns`
    (cells under a 氏名/担当者 column of a table) count as labelled name fields; `analysis`
    is analyse(text), when the caller has it already."""
    items: list[Item] = []
    if _SAMPLE_FORM.match(text):
        return items  # 【記入例】: a sample form's names are examples
    name_tokens: set[int] = set()  # starts of tokens the dictionary tags as names
    public_surnames: set[str] = set()  # surnames of people a notice names in a public role
    honorifics_omitted = public_notice and bool(_HONORIFICS_OMITTED.search(text))
    appointment = public_notice and bool(_APPOINTMENT_NOTICE.search(text))
    first_person: bool | None = None  # the writer speaks for themselves (computed when needed)
    personnel: list[bool] = []  # the text is an internal personnel paper (computed when needed)
    # Only the candidates can start a name (most morphemes are not: the loop skips them unseen).
    if analysis is None:
        analysis = analyse(text)
    for tokens, morphemes, candidates in analysis:
        count = len(morphemes)
        if contacts:
            name_tokens.update(m[0] for m in morphemes if m[2] in _NAME_CATS)
        i = 0
        for candidate in candidates:
            if candidate < i:
                continue  # inside a name already taken, or seen
            i = candidate
            start, end, cat, surface = morphemes[i]
            if surface in _RELATIONS:
                if i + 2 < count and morphemes[i + 1][3] == "の":
                    relative = _relative_after_no(text, morphemes, i + 2, count)
                    if relative is not None:
                        _add_person(items, *relative, "続柄に続く名 / given name after a family relation")
                i += 1
                continue
            is_name = cat in _NAME_CATS or (
                # a word that is also a place name (上野, 石川) followed by a space and a given name
                cat == "proper"
                and _is_kanji(surface)
                and i + 2 < count
                and morphemes[i + 1][2] == "space"
                and len(morphemes[i + 1][3]) <= 2
                and "\n" not in morphemes[i + 1][3]
                and morphemes[i + 2][2] == "mei"
            )
            if (
                not is_name
                and cat == "proper"
                and _is_kanji(surface)
                and i + 3 < count
                and morphemes[i + 1][2] == "space"
                and len(morphemes[i + 1][3]) <= 2
                and "\n" not in morphemes[i + 1][3]
                and morphemes[i + 2][2] in ("noun", "proper")
                and _given_name_shape(morphemes[i + 2][3], morphemes[i + 2][2] == "proper")
                and not _PLACE_WORD.match(morphemes[i + 2][3])
                and (_SELF_INTRO_AFTER.match(text, morphemes[i + 2][1]) or morphemes[i + 3][3] in _HONORIFICS)
            ):
                is_name = True  # 上野 舞です: a place-name word as a surname, given name, self-introduction
            if (
                not is_name
                and cat == "proper"
                and _is_kanji(surface)
                and len(surface) <= 4
                and not _PLACE_WORD.match(surface)
                and _INTRO_STRONG.match(text, end)
                and (i == 0 or morphemes[i - 1][2] in ("space", "other") and not _is_kanji(morphemes[i - 1][3][-1:] or "a"))
            ):
                is_name = True  # 大和田と申します: a surname the dictionary knows as a place name
            if (
                not is_name
                and cat == "proper"
                and not public_notice
                and 2 <= len(surface) <= 3
                and _is_kanji(surface)
                and not _PLACE_WORD.match(surface)
                and _STAFF_TITLE_GLUED.match(text, end)
                and _PERSONAL_MATTER.search(text)
            ):
                is_name = True  # 早川課長補佐への指導 (休職): a surname the dictionary knows as a place name
            if (
                not is_name
                and cat == "proper"
                and not public_notice
                and 2 <= len(surface) <= 3
                and _is_kanji(surface)
                and not _PLACE_WORD.match(surface)
                and _PROFESSIONAL_AFTER.match(text, end)
            ):
                is_name = True  # 主治医：平田医師: a surname the dictionary knows as a place name, glued to 医師
            if (
                not is_name
                and cat == "proper"
                and 2 <= len(surface) <= 3
                and _is_kanji(surface)
                and i + 2 < count
                and morphemes[i + 1][2] == "space"
                and len(morphemes[i + 1][3]) <= 2
                and "\n" not in morphemes[i + 1][3]
                and _HIRAGANA_GIVEN.fullmatch(morphemes[i + 2][3])
                and _NAME_END.match(text, morphemes[i + 2][1])
                and _LABEL.search(text, max(text.rfind("\n", 0, start) + 1, start - 30), start)
            ):
                is_name = True  # 相手方：新城 ひかり: after a label, a place-name surname and a given name in hiragana
            if is_name and _TITLE_WORD.fullmatch(surface):
                i += 1
                continue  # 助教 (tagged as a given name) before 篠原 圭吾: a title, not part of the name
            if is_name and i > 0 and morphemes[i - 1][1] == start and _PLACE_BEFORE.search(morphemes[i - 1][3]):
                i += 1
                continue  # 京都市上京区西洞院通: a street or town name glued to the ward before it
            if is_name and cat == "proper":
                cat = "sei"
            unknown_before_honorific = (
                not is_name
                and i + 1 < count
                and morphemes[i + 1][3] in _HONORIFICS
                and (
                    cat == "proper"
                    or (cat != "space" and tokens[i].is_oov())
                    # 陸くん, めいちゃん: a child's given name before くん/ちゃん
                    or (morphemes[i + 1][3] in _CHILD_HONORIFICS and _child_name(surface) and not (i > 0 and morphemes[i - 1][2] in ("noun", "proper") and morphemes[i - 1][1] == start and _is_kanji(morphemes[i - 1][3][-1:] or "a")))
                )
            )
            if not is_name and not unknown_before_honorific:
                i += 1
                continue
            j = i
            cats = {cat}
            while j + 1 < count:
                nxt = morphemes[j + 1]
                if nxt[2] in _NAME_CATS:
                    j += 1
                    cats.add(nxt[2])
                elif (
                    nxt[2] == "space"
                    and j + 2 < count
                    and morphemes[j + 2][2] in _NAME_CATS
                    and len(nxt[3]) <= 2
                    and "\n" not in nxt[3]
                    and "\r" not in nxt[3]
                    # after a name of two parts already, a third word: not a katakana word after a
                    # kanji name (上田 葵 ウエダ アオイ: its reading; 菅野 ツル is one name of two parts),
                    # and only where the name ends after it (相賀 辰夫 東紀州信用金庫)
                    and not (
                        any(morphemes[x][2] == "space" for x in range(i + 1, j))
                        and (
                            (_is_kanji(morphemes[j][3]) and _KATAKANA.match(morphemes[j + 2][3]))
                            or not _NAME_END.match(text, morphemes[j + 2][1])
                        )
                    )
                ):  # never across a line break: two names on two lines are two people
                    j += 2
                    cats.add(morphemes[j][2])
                    if (
                        cats == {"sei"}
                        and j == i + 2
                        and len(morphemes[j][3]) == 1
                        and "\n" not in nxt[3]
                        and _NAME_END_STRICT.match(text, morphemes[j][1])
                    ):
                        cats.add("mei")  # 石川 楓: a one-character given name that is also a surname
                        break
                elif (
                    "sei" in cats
                    and nxt[2] in ("proper", "noun")
                    and len(nxt[3]) <= 2
                    and _is_kanji(nxt[3])
                    and not _TITLE_WORD.fullmatch(nxt[3])
                    and j + 2 < count
                    and morphemes[j + 2][3] in _HONORIFICS
                ):
                    j += 1  # 姓 + a given name not in the dictionary + honorific
                elif (
                    cats == {"sei"}
                    and j == i
                    and nxt[2] == "space"
                    and len(nxt[3]) <= 2
                    and "\n" not in nxt[3]
                    and j + 2 < count
                    and morphemes[j + 2][2] in ("noun", "proper")
                    and _given_name_shape(morphemes[j + 2][3], morphemes[j + 2][2] == "proper")
                    and not _TITLE_WORD.fullmatch(morphemes[j + 2][3])
                    and not _PLACE_WORD.match(morphemes[j + 2][3])
                    and (
                        _NAME_END.match(text, morphemes[j + 2][1])
                        # 孫の楢崎 千里で: after a family relation and の
                        or (i >= 2 and morphemes[i - 1][3] == "の" and morphemes[i - 2][3] in _RELATIONS
                            and (_AFTER_RELATIVE_NAME.match(text, morphemes[j + 2][1]) or _PARTICLE_AFTER.match(text, morphemes[j + 2][1])))
                    )
                ):
                    j += 2  # 姓 + space + a given name not in the dictionary: 中川 さくら
                    cats.add("mei")
                    break
                elif (
                    cats == {"sei"}
                    and j == i
                    and nxt[2] == "space"
                    and len(nxt[3]) <= 2
                    and "\n" not in nxt[3]
                    and j + 2 < count
                    and (morphemes[j + 2][2] in ("noun", "proper") or (morphemes[j + 2][2] == "other" and len(morphemes[j + 2][3]) == 1))
                    and len(morphemes[j + 2][3]) <= 3
                    and _is_kanji(morphemes[j + 2][3])
                    and morphemes[j + 2][3] not in _NOT_GIVEN_NAMES
                    and morphemes[j + 2][3] not in _NOT_GIVEN_ONE
                    and not _FORM_CHARS.intersection(morphemes[j + 2][3])
                    and not _TITLE_WORD.fullmatch(morphemes[j + 2][3])
                    and not _PLACE_WORD.match(morphemes[j + 2][3])
                    and _NAME_END.match(text, morphemes[j + 2][1])
                    and (
                        _labelled_at(text, start, morphemes[j + 2][1], columns)
                        or _AGE_AFTER.match(text, morphemes[j + 2][1])
                        or _BIRTH_PAREN_AFTER.match(text, morphemes[j + 2][1])
                        or _HONORIFIC_GLUED.match(text, morphemes[j + 2][1])  # 岩成 颯くん
                        # 嵯峨 篤志教諭（37）が…事故: a staff member whose personal matter is discussed
                        or (
                            not public_notice
                            and _STAFF_TITLE_GLUED.match(text, morphemes[j + 2][1])
                            and _PERSONAL_MATTER.search(text)
                        )
                    )
                ):
                    # after a label, 姓 + space + any short kanji word: 氏名 那須 勇気, 職員：河野 未来; with an age
                    # or a date of birth: 浜口 勇気（42）, 宇佐美 八重（昭和11年9月8日生）
                    j += 2
                    cats.add("mei")
                    break
                elif (
                    cats == {"sei"}
                    and j == i
                    and nxt[2] == "space"
                    and len(nxt[3]) <= 2
                    and "\n" not in nxt[3]
                    and j + 3 < count
                    and (morphemes[j + 2][2] in ("noun", "proper", "mei") or (morphemes[j + 2][2] == "other" and _is_kanji(morphemes[j + 2][3])))
                    and morphemes[j + 2][1] == morphemes[j + 3][0]
                    and morphemes[j + 2][3] not in _HONORIFICS
                    and _split_given_name(morphemes[j + 2][3] + morphemes[j + 3][3], morphemes[j + 3][2])
                    and not _TITLE_WORD.fullmatch(morphemes[j + 3][3])
                    and _NAME_END.match(text, morphemes[j + 3][1])
                ):
                    j += 3  # 姓 + space + a given name the dictionary splits: 桐生 湊斗 (湊 + 斗), 大川 ひまり (ひま + り)
                    cats.add("mei")
                    break
                else:
                    break
            if (
                morphemes[j][2] == "mei"
                and j + 1 < count
                and morphemes[j + 1][2] in ("noun", "other")
                and len(morphemes[j + 1][3]) == 1
                and morphemes[j + 1][3] in _GIVEN_FINAL
                and (_NAME_END_STRICT.match(text, morphemes[j + 1][1]) or _PARTICLE_AFTER.match(text, morphemes[j + 1][1]))
            ):
                j += 1  # 笹川 優斗: a given name the dictionary splits (優 + 斗)
            # 長男金城 勝也と同居: a family relation written right before a surname and given name
            relation_before = i >= 3 and morphemes[i - 3][3] in _RELATIONS
            if (
                cat == "mei"
                and i >= 2
                and morphemes[i - 1][2] == "space"
                and len(morphemes[i - 1][3]) <= 2
                and "\n" not in morphemes[i - 1][3]
                and morphemes[i - 2][2] in ("noun", "proper")
                and 1 <= len(morphemes[i - 2][3]) <= 3
                and _is_kanji(morphemes[i - 2][3])
                and morphemes[i - 2][3] not in _RELATIONS
                and morphemes[i - 2][3] not in _NOT_SURNAME
                and not _PERSON_NOUN.search(morphemes[i - 2][3])  # 高齢者 常松 ハル さん: a word for a person, not a surname
                and not _TITLE_WORD.fullmatch(morphemes[i - 2][3])
                and (not _PLACE_WORD.match(morphemes[i - 2][3]) or relation_before)
                and (
                    i == 2
                    or morphemes[i - 3][2] in ("space", "other") and not _is_kanji(morphemes[i - 3][3][-1:] or "a")
                    or relation_before
                )
                and (not items or morphemes[i - 2][0] >= items[-1].end)
                and (_NAME_END.match(text, morphemes[j][1]) or relation_before)
                and (
                    morphemes[i - 2][2] == "proper"
                    or relation_before
                    or _LABEL.search(text, max(text.rfind("\n", 0, morphemes[i - 2][0]) + 1, morphemes[i - 2][0] - 30), morphemes[i - 2][0])
                    # 大橋 美千代 様: a common noun as a surname before an honorific (not 本日, 今回: 副詞可能)
                    or (_HONORIFIC_AFTER.match(text, morphemes[j][1]) and tokens[i - 2].part_of_speech()[2] == "一般")
                    # 株式会社ミナト精機の内海 加奈子と申します: a self-introduction
                    or _INTRO_STRONG.match(text, morphemes[j][1]) is not None
                )
            ):
                start = morphemes[i - 2][0]  # 東 美智子: a surname the dictionary does not know + a given name
                cats.add("sei")
            span_start, span_end = start, morphemes[j][1]
            if _KANA_GIVEN_END.match(text, span_end) and _KATAKANA.search(text, span_start, span_end):
                span_end += 1  # 坪川 ヨシ子, 山本 ハル江: a kana given name ending in a kanji
            elif _HIRAGANA_TAIL.match(text, span_end) and text[span_end - 1] in _HIRAGANA_SET:
                span_end += 1  # 柏葉 ゆうと（小2）: the dictionary read と as a particle
            elif (
                morphemes[j][2] == "mei"
                and j + 1 < count
                and len(morphemes[j + 1][3]) == 1
                and _is_kanji(morphemes[j + 1][3])
                and morphemes[j + 1][3] not in _NOT_GIVEN_ONE
                and morphemes[j + 1][3] not in _FORM_CHARS
                and _SPACE_IN_NAME.search(text, span_start, span_end)
                and _NAME_END_STRICT.match(text, morphemes[j + 1][1])
            ):
                span_end += 1  # 篠原 陽向（…生）: a given name the dictionary knows only in part (陽 + 向)
                j += 1
            paren = text.find("(", span_start, span_end)
            if paren > span_start:
                span_end = paren  # a dictionary entry that runs into a parenthesis: 美咲(パート)
            glued = _glued_title_tail(text, span_start, span_end)
            if glued:
                span_start += glued  # 係長村松 恵美子: the dictionary read 長村 as a surname
            tail = _glued_title_head(text, span_start, span_end)
            if tail:
                span_end -= tail  # 桑田民生委員: 民生 begins the title 民生委員, not a given name
                cats = {"sei"}
            k = j + 1
            while k < count and morphemes[k][2] == "space" and "\n" not in morphemes[k][3]:
                k += 1  # (not across a line break: ケンジ⏎氏 名 is a label on the next line, not ケンジ氏)
            honorific = k < count and morphemes[k][3] in _HONORIFICS
            intro = not honorific and "sei" in cats and bool(
                _SELF_INTRO_AFTER.match(text, span_end) or _CALLED_AFTER.match(text, span_end)
            )
            alone = not public_notice and not honorific and cats == {"sei"}
            # 久保田：… at the head of a line of an internal paper: a speaker named by surname
            speaker = (
                alone
                and _SPEAKER_COLON.match(text, span_end) is not None
                and _LINE_HEAD.fullmatch(text, text.rfind("\n", 0, span_start) + 1, span_start) is not None
            )
            # 北川主事の病気休暇, 坂口技師にけが, 乙部（道路課）: a staff member whose personal matter is discussed
            staff_matter = alone and (
                (
                    (_STAFF_TITLE_GLUED.match(text, span_end) is not None or _OFFICE_IN_PARENS.match(text, span_end) is not None)
                    and _PERSONAL_MATTER.search(text) is not None
                )
                # 人事課長 宮内（現 職員課長補佐）, ・佐久間 福祉課 育休から復帰 in a transfer plan
                or (
                    (_POST_AFTER.match(text, span_end) is not None or _STAFF_TITLE_GLUED.match(text, span_end) is not None)
                    and _personnel_paper(text, personnel)
                )
                or _VOLUNTEER_TITLE.match(text, span_end) is not None  # 桑田民生委員: a citizen volunteer
            )
            # 西田 070-…: a surname alone with a phone number or an e-mail address on its line;
            # 総務課 長岡（075-692-3341）: with a phone number in brackets
            contact_line = alone and (
                _CONTACT_AFTER.match(text, span_end) is not None or _CONTACT_PAREN_AFTER.match(text, span_end) is not None
            )
            # 主治医 …クリニック 斎藤医師: a doctor or a lawyer outside the office, named by surname
            professional = alone and _PROFESSIONAL_AFTER.match(text, span_end) is not None
            # 同社営業部 石黒課長より見積受領: a company's staff member named by surname and title in an internal paper
            vendor_staff = (
                alone
                and _COMPANY_TITLE_GLUED.match(text, span_end) is not None
                and _COMPANY_BEFORE.search(text, max(text.rfind("\n", 0, span_start) + 1, span_start - 40), span_start) is not None
            )
            # 高野世帯を内定とする: a household named by its surname
            household = alone and text.startswith("世帯", span_end) and not text.startswith("世帯数", span_end)
            if honorific and _KATAKANA.match(morphemes[i][3]):
                back = i - 1  # グエン・ヴァン・アンさん, ヨコヤマ ケンジさん: the whole katakana name
                spaces = 0
                while back >= 0 and (not items or morphemes[back][0] >= items[-1].end):
                    if _KATAKANA.match(morphemes[back][3]):
                        span_start = morphemes[back][0]
                        back -= 1
                    elif (
                        morphemes[back][2] == "space"
                        and back > 0
                        and span_start == morphemes[back][1]
                        and len(morphemes[back][3]) <= 2
                        and "\n" not in morphemes[back][3]
                        and _KATAKANA.match(morphemes[back - 1][3])
                        and spaces < 2
                    ):
                        spaces += 1  # two spaces inside the name at most: ペレス ビジャヌエバ パトリシアさん
                        back -= 1
                    else:
                        break
                while text[span_start] in "・=＝" and span_start < span_end:
                    span_start += 1  # ・アンドウ タケシさん: a bullet before the name, not part of it
            line_start = text.rfind("\n", 0, span_start) + 1
            before = text[max(line_start, span_start - 30) : span_start]
            after = text[span_end : span_end + 12]
            labelled = (
                bool(_LABEL.search(before))
                or (_has_colon(text, line_start, span_start) and bool(_LABEL_THEN_TITLE.search(text, max(line_start, span_start - 60), span_start)))
                or bool(columns.names and columns.in_name_cell(span_start, span_end))
                or (not public_notice and bool(_VENDOR_CONTACT.search(text, max(line_start, span_start - 60), span_start)))
            )
            # 寺尾 俊和: a word the dictionary knows only as a name (neither 姓 nor 名) before a given name
            full = ("sei" in cats or "name" in cats) and "mei" in cats
            i = j + 1
            if not (honorific or labelled or full or unknown_before_honorific or intro or speaker or staff_matter or contact_line or professional or household or vendor_staff):
                continue
            if public_notice and honorific and morphemes[k][3] == "君" and not labelled:
                continue  # 桑野健太郎君。: a member called on by the chair in published minutes
            if honorific and not labelled and _OCCUPATION.search(text, max(0, span_start - 5), span_end):
                continue  # 保健師さん (保 + 健師): an occupation, not a name
            if (
                labelled
                and not (honorific or full or intro)
                and cats == {"name"}
                and _KATAKANA.match(text, span_start, span_end)
                and _GLUED.search(before)
            ):
                continue  # 対象者リスト: a katakana word the dictionary also knows as a name, glued to the label
            if _HIGH_BEFORE.search(before) or _HIGH_AFTER.match(after):
                continue
            if labelled and "名" in before and _ANIMAL_LABEL_BEFORE.search(before):
                continue  # 犬の名前 コタロウ: a pet's name
            if span_end - span_start == 2 and not (honorific or labelled or intro) and _GLUED_TWO_AFTER.match(after):
                continue  # エレベーターは全基停止します: two one-character name words glued, then a verb noun
            if span_end - span_start == 3 and not (honorific or labelled) and _LETTER_SPACED.search(before):
                continue  # 予 定 価 格 調 書: a heading with its letters spaced out
            if (
                not labelled
                and not (honorific and morphemes[k][3] in ("さん", "様", "さま"))  # （担当 吉村さん）: not a speaker label
                and ("(" in before or "○" in before or "◯" in before or "番" in before)
                and _TITLE_PAREN_BEFORE.search(before)
                and not _MORE_IN_PARENS.match(text, span_end)
            ):
                continue  # ○農業政策課長（井上 剛）: a speaker named in that role (not 教諭（小山 健太、保健体育）が)
            if text[span_end - 1 : span_end] in _HIRAGANA_SET and text[span_end : span_end + 1] in _HIRAGANA_SET and not (honorific or intro):
                continue  # すぎうら しゅう|さく: a kana word the dictionary cut short, not a name ending here
            if text[span_start:span_end] in _NOT_NAMES:
                continue  # 申立人 (申 + 立人): a word the dictionary cuts into a surname and a given name
            if not (honorific or labelled) and _GLUED_NUMBER_AFTER.match(after) and not _SPACE_IN_NAME.search(text, span_start, span_end):
                continue  # 林道奥三面線: a road or a place, not a glued name followed by a number
            if _PLACEHOLDER.fullmatch(text, span_start, span_end):
                continue  # A氏, B様, ○○さん: an anonymised party, not a name
            if not (honorific or full or intro) and _SUFFIX_AFTER.match(after):
                continue  # ヘボン式, 〇〇流: a name used as part of a word
            if not honorific and (not labelled or cats != {"sei", "mei"}) and _INSTITUTION_AFTER.match(after):
                continue  # 田中角栄内閣, 長谷川町子美術館: a name used as part of another name
            if not labelled and _AUTHOR_AFTER.match(after):
                continue  # 山田 太郎 著, 鈴木 一郎 編: the author of a published work
            if not (labelled or honorific) and _WORK_AFTER.match(after) and not _SPACE_IN_NAME.search(text, span_start, span_end):
                continue  # 夏目漱石の『坊っちゃん』: an author written as one word
            if not labelled and _TITLE_BEFORE.search(before) and _staff_contact(text, span_end):
                continue  # 課長補佐 石動 誠（内線 2373）: staff named as the office's contact
            roster = _ROSTER_LINE.match(text, line_start) is not None
            if roster and not public_notice and _SELECTION_BOARD.match(text, line_start):
                roster = False  # 評価委員：… in an evaluation not yet published: who sits on the board is not public
            if (
                (not labelled or roster)
                and (public_notice or roster)
                and not staff_matter
                and (
                    _TITLE_BEFORE.search(before)
                    or _TITLE_AFTER.match(after)
                    or _CONTACT_BEFORE.search(before)
                    or _LIST_AFTER_TITLE.search(text, max(line_start, span_start - 160), span_start)
                )
            ):
                _remember_surname(text, span_start, span_end, public_surnames)
                continue  # an official, member or appointee named in that role
            if public_notice and (
                (not labelled and (_AFFILIATION_BEFORE.search(before) or _APPOINTED_AFTER.match(text, span_end)))
                or (titled_notice and not labelled and not honorific)
                or (honorifics_omitted and not labelled and not honorific)
                or (appointment and labelled and not honorific)
                or (cats == {"sei"} and text[span_start:span_end] in public_surnames)
            ):
                if first_person is None:
                    first_person = bool(_FIRST_PERSON.search(text))
                if not first_person:
                    _remember_surname(text, span_start, span_end, public_surnames)
                    continue  # a student, appointee or award winner named in a notice or press release
            if public_notice and not labelled and honorific and morphemes[k][3] in _PUBLIC_HONORIFICS:
                if first_person is None:
                    first_person = bool(_FIRST_PERSON.search(text))
                if not first_person:
                    continue  # 坂下 光男 氏（書道家）: a person named in a notice or press release
            if honorific:
                reason = "敬称付きの氏名 / personal name with honorific"
            elif intro and not (labelled or full):
                reason = "名乗り（〜です／〜と申します）/ self-introduction"
            elif speaker:
                reason = "発言者の姓 / speaker named by surname"
            elif staff_matter:
                reason = "身上に関する職員の姓 / staff member whose personal matter is discussed"
            elif labelled:
                reason = "氏名欄の氏名 / personal name after a name label"
            elif household:
                reason = "世帯の姓 / household named by its surname"
            elif vendor_staff:
                reason = "取引先の担当者 / a company's contact named by surname and title"
            else:
                reason = "氏名（姓名）/ personal name (family and given name)"
            items.append(Item("PERSON", span_start, span_end, 2, reason))
    if _HAS_UPPER.search(text) or _HAS_CAPITALISED.search(text):
        for m in _LATIN_NAME.finditer(text):
            start = m.start()
            salutation = _SALUTATION.match(text, start, m.end())
            if salutation:
                start = salutation.end()
                if _SPACE_IN_NAME.search(text, start, m.end()) is None and not _HAS_UPPER.search(text, start, m.end()):
                    continue  # "Dear Tanaka": a surname alone after a salutation
            line_start = text.rfind("\n", 0, start) + 1
            before = text[max(line_start, start - 30) : start]
            labelled_here = bool(_LABEL.search(before)) or bool(columns.names and columns.in_name_cell(start, m.end()))
            if (
                labelled_here
                or (m.group("given") is None and _HONORIFIC_AFTER.match(text, m.end()))
                # Sarah Whitfield博士, John Miller様 in an internal paper
                or (not public_notice and _LATIN_TITLE_AFTER.match(text, m.end()) and not _ORGANISATION_WORD.search(text, start, m.end()))
                or _BIRTH_PAREN_AFTER.match(text, m.end())
                or _OTHER_WRITING.match(text, m.end())
                or _RELATION_NO_BEFORE.search(before)
                or _RELATION_PAREN_BEFORE.search(before)
                or (m.group("given") is None and _LATIN_SELF_INTRO_AFTER.match(text, m.end()))
                or (
                    (
                        _CONTACT_AFTER.match(text, m.end())
                        or _ROW_NUMBER.fullmatch(before)
                        or _I_AM_BEFORE.search(before)
                        or (_WATASHI_BEFORE.search(before) and _LATIN_SELF_INTRO_AFTER.match(text, m.end()))
                        or _GRADE_BEFORE.search(before)  # ・3年 Aiko Dela Cruz（フィリピン）
                    )
                    and not _ORGANISATION_WORD.search(text, start, m.end())
                )
            ):
                # the whole romanised name wins over a part of it found as a word (LEE Min Jun)
                items = [it for it in items if not (start <= it.start and it.end <= m.end())]
                _add_person(items, start, m.end(), "氏名欄の氏名 / personal name after a name label")
    if "my " in text or "My " in text or "MY " in text or "nom" in text or "chamo" in text or "llamo" in text:
        for m in _MY_NAME_IS.finditer(text):
            group = "n" if m.group("n") else "r"
            if _free(items, m.start(group), m.end(group)):
                reason = "名乗り（〜です／〜と申します）/ self-introduction" if group == "n" else "続柄に続く名 / given name after a family relation"
                items.append(Item("PERSON", m.start(group), m.end(group), 2, reason))
    if "저" in text or "제" in text or "我" in text:
        for m in _FOREIGN_SELF_INTRO.finditer(text):
            group = "h" if m.group("h") else "c"
            _add_person(items, *m.span(group), "名乗り（〜です／〜と申します）/ self-introduction")
    if _CLOSING_WORD.search(text):
        for m in _LATIN_CLOSING.finditer(text):
            _add_person(items, m.start("n"), m.end("n"), "署名の氏名 / name signed under a letter's closing")
    if "・" in text and not public_notice:
        for m in _KATAKANA_NAME_IN_ROW.finditer(text):
            group = "n" if m.group("n") else "t" if m.group("t") else "c"
            if not _katakana_phrase(m.group(group)):
                items = _as_one_name(items, *m.span(group), "氏名（姓名）/ personal name (family and given name)")
        for m in _KATAKANA_WITH_OTHER_SCRIPT.finditer(text):
            items = _as_one_name(items, *m.span("n"), "別表記を添えた氏名 / name given in two scripts")
            items = _as_one_name(items, *m.span("o"), "別表記を添えた氏名 / name given in two scripts")
    if "・" in text:
        for m in _KATAKANA_NAME_HONORIFIC.finditer(text):
            if not (public_notice and m.group("h") == "氏"):
                items = _as_one_name(items, *m.span("n"), "敬称付きの氏名 / personal name with honorific")
    if "(" in text:  # NFKC text: （ is (
        for m in _NAME_THEN_RELATION.finditer(text):
            if not _TITLE_WORD.search(m.group("n")):
                start = m.start("n")
                label = _LEADING_LABEL.match(text, start, m.end("n"))
                if label:
                    start = label.end()  # 保護者 藤崎 麻衣（母）: the label is not part of the name
                items = _as_one_name(items, start, m.end("n"), "続柄を添えた氏名 / name given with a family relation")
    if "(" in text:
        for m in _SURNAME_AFTER_AGE.finditer(text):
            if _is_surname(m.group("n")):
                _add_person(items, *m.span("n"), "年齢・性別に続く姓 / surname given with age and sex")
        for m in _CHILDREN_LISTED.finditer(text):
            for group in ("a", "b"):
                if _given_name_shape(m.group(group), False):
                    _add_person(items, *m.span(group), "続柄に続く名 / given name after a family relation")
        for m in _RELATION_PAREN_NAME.finditer(text):
            group = "n" if m.group("n") else "s"
            name = m.group(group)
            if group == "s":
                ok = _is_surname(name) or _given_name_shape(name, False)  # 交際相手(梶谷、40代)
            elif _KATAKANA.match(name):
                ok = not _common_noun(name)
            else:
                ok = _given_name_shape(name, False) and name not in _RELATIONS  # 息子（颯）と二人暮らし
            if ok and name not in _NOT_GIVEN_NAMES:  # 長男（故人）の子: not a name
                _add_person(items, *m.span(group), "続柄に続く名 / given name after a family relation")
        for m in _RELATION_GLUED_GIVEN.finditer(text):
            if m.group("n") not in _NOT_GIVEN_NAMES:
                _add_person(items, *m.span("n"), "続柄に続く名 / given name after a family relation")
        for m in _NAME_WITH_BIRTH.finditer(text):
            group = "k" if m.group("k") else "p" if m.group("p") else "g"
            if group == "g" and m.group("g") in _NOT_GIVEN_NAMES:
                continue
            items = _as_one_name(items, *m.span(group), "続柄・生年月日を添えた氏名 / name given with a relation or a date of birth")
    if "・" in text or " " in text:
        for m in _KATAKANA_SELF_INTRO.finditer(text):
            items = _as_one_name(items, *m.span("n"), "名乗り（〜です／〜と申します）/ self-introduction")
        for m in _RELATION_THEN_MIXED_NAME.finditer(text) if not public_notice else ():
            items = _as_one_name(items, *m.span("n"), "続柄に続く氏名 / name after a family relation")
    for m in _SHORT_NAME_HONORIFIC.finditer(text) if not public_notice and _HONORIFIC_CHAR.search(text) else ():
        parts = m.group("n").split()
        if not any(part in _RELATIONS or _title_or_office(part) for part in parts):
            items = _as_one_name(items, *m.span("n"), "敬称付きの氏名 / personal name with honorific")  # (not 妻 静枝 さん)
    for m in _ending_at(text, _INTRO_AFTER_BRACKET, _SURNAME_READING_INTRO, 30) if ")" in text and not public_notice else ():
        if not any(_never_in_a_name(part) for part in m.group("n").split()):
            items = _as_one_name(items, *m.span("n"), "名乗り（〜です／〜と申します）/ self-introduction")
            items = _as_one_name(items, *m.span("r"), "氏名の読み / reading of a personal name")
    for m in _ending_at(text, _AGE_BRACKET, _ITEM_NAME_AGE, 40) if not public_notice and ")" in text else ():
        parts = re.split(r"[ \t・]", m.group("n"))
        if not any(_never_in_a_name(p) for p in parts) and not _katakana_phrase(m.group("n")):
            items = _as_one_name(items, *m.span("n"), "年齢を添えた氏名 / name given with an age")
    for m in _CODE_THEN_NAME.finditer(text) if not public_notice else ():
        parts = re.split(r"[ \t・]", m.group("n"))
        if not any(_never_in_a_name(p) for p in parts) and not _katakana_phrase(m.group("n")):
            items = _as_one_name(items, *m.span("n"), "表の行の氏名 / personal name in a row of a table")
    for m in _ending_at(text, _KANA_GIVEN_TAIL, _SURNAME_KANA_GIVEN, 9, after=True) if not public_notice else ():
        if _is_surname(m.group("s")):
            items = _as_one_name(items, *m.span("n"), "氏名（姓名）/ personal name (family and given name)")
    for m in _ending_at(text, _ERA_LETTER_DATE, _SURNAME_ERA_DATE, 12) if not public_notice and "." in text else ():
        if _is_surname(m.group("s")):
            items = _as_one_name(items, *m.span("n"), "続柄・生年月日を添えた氏名 / name given with a relation or a date of birth")
    for m in _ending_at(text, _HONORIFIC_OR_INTRO, _SURNAME_THEN_SHORT, 10) if not public_notice else ():
        if (
            _is_surname(m.group("s"))
            and m.group("g") not in _NOT_GIVEN_NAMES
            and m.group("g") not in _NOT_GIVEN_ONE  # 田中 案です: a surname and a draft
            and not _FORM_CHARS.intersection(m.group("g"))
            and not any(_title_or_office(part) for part in (m.group("s"), m.group("g")))
        ):
            items = _as_one_name(items, *m.span("n"), "敬称付きの氏名 / personal name with honorific")
    if "の" in text:
        for m in _RELATIVE_NO_OTHER_SCRIPT.finditer(text):
            _add_person(items, m.start("n"), m.end("n"), "続柄に続く名 / given name after a family relation")
    kana_pair = _KANA_PAIR.search(text) is not None
    if kana_pair:
        for m in _KANA_AFTER_COLON.finditer(text):
            start, end = m.span("n")
            line_start = text.rfind("\n", 0, start) + 1
            if _LABEL.search(text[max(line_start, start - 30) : start]):
                items = _as_one_name(items, start, end, "氏名欄の氏名 / personal name after a name label")
    if not public_notice:
        for m in _LABELLED_NAME.finditer(text):
            if _labelled_name(text, m):
                start = m.start("n")
                relation = _RELATION_AT_START.match(m.group("s"))
                if relation and relation.end() < len(m.group("s")):
                    start += relation.end()  # 保護者：母附田 絵里奈: the relation is not part of the name
                items = _as_one_name(items, start, m.end("n"), "氏名欄の氏名 / personal name after a name label")
        for m in _NAME_FIELD.finditer(text) if "名" in text else ():
            if not _FIELD_WORD.search(m.group("n")):
                _add_person(items, *m.span("n"), "氏名欄の氏名 / personal name after a name label")
        for m in _RELATION_NAME_AGE.finditer(text) if "(" in text or "生" in text else ():
            if m.group("n") not in _NOT_GIVEN_NAMES:
                _add_person(items, *m.span("n"), "続柄に続く名 / given name after a family relation")
        for m in _KANA_CHILD.finditer(text) if "くん" in text or "ちゃん" in text else ():
            name = m.group("n")
            if name[0] != "お" and name not in ("あか", "みんな") and _child_name(name):
                _add_person(items, *m.span("n"), "敬称付きの氏名 / personal name with honorific")
        for m in _NAME_WITH_READING.finditer(text) if kana_pair else ():
            if _plausible_reading(m) and not _common_noun(m.group("s")) and not any(
                _title_or_office(part) for part in (m.group("s"), m.group("g"))
            ):
                items = _as_one_name(items, m.start("s"), m.end("g"), "読みを添えた氏名 / name given with its reading")
                items = _as_one_name(items, *m.span("r"), "氏名の読み / reading of a personal name")
        for m in _SURNAME_KATAKANA_AGE.finditer(text) if "(" in text else ():
            items = _as_one_name(items, *m.span("n"), "年齢を添えた氏名 / name given with an age")
        for m in _GIVEN_WITH_AGE_LISTED.finditer(text) if "歳)" in text or "才)" in text else ():
            if _given_name_shape(m.group("n"), False) and m.group("n") not in _RELATIONS:
                _add_person(items, *m.span("n"), "続柄に続く名 / given name after a family relation")
        for m in _KANA_NAME_WITH_AGE.finditer(text) if "(" in text else ():
            if not (m.group("sex") and _common_noun(m.group("n"))):  # not サッカー(男子)
                _add_person(items, *m.span("n"), "続柄に続く名 / given name after a family relation")
        for m in _KANA_NAME_LIST.finditer(text) if "名(" in text else ():
            for part in re.finditer(r"[ァ-ヴー]+", m.group("list")):
                start, end = m.start("list") + part.start(), m.start("list") + part.end()
                _add_person(items, start, end, "氏名欄の氏名 / personal name after a name label")
        for m in _COUNTED_NAMES.finditer(text) if "名(" in text else ():
            parts = list(re.finditer(r"[^、,]+", m.group("list")))
            if len(parts) == int(m.group("count")) and all(_is_surname(p.group().strip().split()[0]) for p in parts):
                for part in parts:
                    start = m.start("list") + part.start() + len(part.group()) - len(part.group().lstrip())
                    end = m.start("list") + part.end() - (len(part.group()) - len(part.group().rstrip()))
                    _add_person(items, start, end, "人数を添えて列挙された氏名 / people listed by name after their number")
        for m in _CHILD_OF_PARENT.finditer(text) if "の" in text else ():
            if _is_surname(m.group("n").split()[0]):
                items = _as_one_name(items, *m.span("n"), "続柄を添えた氏名 / name given with a family relation")
        for m in _CALLED_THEMSELVES.finditer(text) if "名乗" in text else ():
            if m.group("n") or _is_surname(m.group("s")):
                _add_person(items, *m.span("n" if m.group("n") else "s"), "名乗った名 / the name someone gave")
        for m in _NAMEPLATE.finditer(text) if "表札" in text or "名札" in text else ():
            _add_person(items, *m.span("n"), "表札の氏名 / name on a nameplate")
        for m in _CLOSING_THEN_SURNAME.finditer(text) if "\n" in text else ():
            if _is_surname(m.group("n")):
                _add_person(items, *m.span("n"), "署名の氏名 / name signed under a letter's closing")
    if columns.names:
        items = _whole_name_cells(text, items, columns)
    if contacts and not public_notice:
        items += _signatures(text, items, contacts, name_tokens)
        items += _speakers_with_addresses(text, items, contacts)
    if not public_notice and ("," in text or "\t" in text or "|" in text or "/" in text):
        items += _people_in_rows(text, items, contacts or [])
    if items:
        items = _readings_and_relatives(text, items)
        items += _later_mentions(text, items, analysis)
    return items


def _later_mentions(text: str, people: list[Item], analysis: list[Chunk]) -> list[Item]:
    """The surname or given name of a person found by full name, written alone elsewhere in the
    same text (柴崎 源一 … 源一の妹; 大槻 健二 … 大槻は面接に応じず): the same person. A part
    is taken only as a whole word, not glued to a place or institution word (大槻町, 細川邸)."""
    parts: set[str] = set()
    for item in people:
        if item.type != "PERSON":
            continue
        words = text[item.start : item.end].split()
        if len(words) >= 2:
            parts.update(w for w in words if len(w) >= 2 and not _TITLE_WORD.fullmatch(w) and w not in _RELATIONS)
    if not parts:
        return []
    out: list[Item] = []
    taken = sorted((it.start, it.end) for it in people)
    for chunk in analysis:
        morphemes = chunk.morphemes
        for k, (start, end, cat, surface) in enumerate(morphemes):
            if surface not in parts or cat == "space":
                continue
            if k > 0 and morphemes[k - 1][1] == start and morphemes[k - 1][2] in _WORD_CATS:
                continue  # glued to a word before it (こめとパン栗林)
            if k + 1 < len(morphemes) and morphemes[k + 1][2] in _WORD_CATS and not _TITLE_AFTER.match(text[end : end + 14]):
                continue  # glued to a word after it that is not a title (曽我部測量事務所)
            if _next_to_a_word(morphemes, k):
                continue  # one word of another full name (那須 陸, SANTOS Lucas), not a name alone
            after = text[end : end + 12]
            if _INSTITUTION_AFTER.match(after) or _SUFFIX_AFTER.match(after) or _PLACE_SUFFIX.match(after):
                continue
            if any(s < end and start < e for s, e in taken):
                continue
            out.append(Item("PERSON", start, end, 2, "氏名の一部（同じ文書で氏名が判明）/ part of a name found in the same text"))
            taken.append((start, end))
    return out


_WORD_CATS = frozenset(("noun", "proper", "sei", "mei", "name"))


def _next_to_a_word(morphemes: list[tuple[int, int, str, str]], k: int) -> bool:
    """A word stands on either side of morpheme k across one short space on the same line."""
    for step in (-1, 1):
        j = k + step
        if 0 <= j + step < len(morphemes) and morphemes[j][2] == "space" and len(morphemes[j][3]) <= 2 and "\n" not in morphemes[j][3]:
            if morphemes[j + step][2] in _WORD_CATS:
                return True
    return False


_PLACE_SUFFIX = compile_guarded(r"(?:都|道|府|県|市|区|町|村|郡|駅|通り?|線|川|山|島|橋|寺|神社|家(?![族庭])|氏(?=[はがのを]))")


# 氏名 鳥居 ふさ: after a 氏名 label at the head of a line, a family name (one the dictionary
# may know as a common word: 鳥居, 大橋) and a given name, then the end of the field
_NAME_FIELD = compile_guarded(
    r"(?:^|\n)[ \t]*(?:氏名|お名前|名前)[ \t]*[:：]?[ \t]*"
    r"(?P<n>[一-龥々]{1,4}[ \t]{1,2}(?:[一-龥々]{1,3}|[ぁ-ゖ]{2,4}|[ァ-ヴー]{2,6}))(?=[ \t]*(?:\r?\n|$|[(（])|[ \t]+[^ \t\n])"
)
# A name-shaped value after a label at the head of a line, whatever the dictionary makes of its
# words (申請者氏名　一戸 湊斗, 対象者：髙橋 ハツヱ様, ・地権者：一戸 源太郎（017-…）, 同一住所の子　神 蒼空):
# a name label, any word ending in 者 (申出者, 地権者), or a family relation.
_LABELLED_NAME = compile_guarded(
    r"^[ \t]*(?:[・\-*•]|[0-9]{1,2}[.)])?[ \t]*"
    r"(?P<label>[一-龥ぁ-ゖァ-ヴー]{0,8}?(?:氏名|名前)|氏[ \t]+名|" + _PERSON_LABELS + r"|[一-龥]{1,4}者|(?:[一-龥ぁ-ゖ]{1,8}の)?(?:" + _RELATION_WORDS + r"))"
    r"(?:[ \t]*\([^)\n]{1,10}\))?(?:[ \t]*[:：][ \t]*|[ \t]+)"
    r"(?P<n>(?!故)(?P<s>[一-龥々]{1,4})[ \t]{1,2}(?P<g>[一-龥々]{1,3}?|[ぁ-ゖ]{2,4}|[ァ-ヴー]{2,6}))"
    r"(?=[ \t]*(?:\r?\n|$|[(、,。]|様|さん|殿|くん|ちゃん|氏|先生|医師|弁護士)|[ \t]{2,}|\t)",
    re.M,
)
# Labels ending in 者 that name the staff who wrote, answered or decided, not the person the paper is about
_STAFF_LABEL = compile_guarded(
    r"(?:担当|作成|記録|起案|決裁|発表|出席|説明|責任|管理|決定|回答|対応|聴取|報告|確認|承認|受付|入力|参加|同席|立会|応対|面接|調査|指導|監督|検査|審査|選定|評価)者"
)
_RELATION_AT_START = re.compile(r"(?:" + _RELATION_WORDS + r")")
_STRONG_LABEL = compile_guarded(r"(?:" + _PERSON_LABELS + r")|.*(?:氏名|名前)|氏[ \t]+名")
_AGE_OR_BIRTH_AFTER = compile_guarded(r"[ \t]*(?:\([ \t]*(?:[0-9]|[^)\n]{0,20}生)|様|さん|殿)")
# 氏名 住所 滞納額: a table's header row, not a name
_FIELD_WORD = compile_guarded(r"住所|続柄|生年月日|年齢|性別|電話|連絡先|備考|所属|職名|役職|金額|額$|番号|区分|欄")
# 長男 颯（17、高2）: a relation, a given name, the age in parentheses
_AGE_OR_GRADE = r"(?:[0-9]{1,3}[ \t]*(?:歳|才)?|[小中高][1-6]|年[少中長])"
_RELATION_NAME_AGE = compile_guarded(
    r"(?:" + _RELATION_WORDS + r")[ \t]+(?P<n>[一-龥々]{1,3}|[ぁ-ゖ]{2,4}|[ァ-ヴー]{2,6})(?:[ \t]*\([ \t]*" + _AGE_OR_GRADE + r"[ \t]*[、,)]"
    # 長女 結菜　2021年6月8日生
    r"|[ \t]+(?:(?:19|20)[0-9]{2}[年/.\-][0-9]{1,2}[月/.\-][0-9]{1,2}日?|(?:昭和|平成|令和)[0-9元]{1,2}年[0-9]{1,2}月[0-9]{1,2}日)[ \t]*生)"
)
# 子２名（陽向（8歳）、結愛（5歳））: given names with ages, listed
_GIVEN_WITH_AGE_LISTED = compile_guarded(r"(?<=[(、,])[ \t]*(?P<n>[一-龥々]{1,3}|[ぁ-ゖ]{2,4})\([ \t]*[0-9]{1,2}[ \t]*(?:歳|才)[ \t]*\)(?=[ \t]*[、,)])")
# 2年3組 ヒロセ（男子）, 対象児童：ユウト（小2）: a child written in katakana with their sex, age or grade
_KANA_NAME_WITH_AGE = compile_guarded(
    r"(?<![ァ-ヴー・])(?P<n>[ァ-ヴー]{2,6})\((?:(?P<sex>男子|女子|男児|女児|男|女)|[0-9]{1,2}[ \t]*(?:歳|才)|[小中高][1-6]|年[少中長])\)"
)
# ・大橋 トミ（91）: a kanji surname and a katakana given name with the age in brackets
_SURNAME_KATAKANA_AGE = compile_guarded(r"(?<![一-龥々])(?P<n>[一-龥々]{1,3}[ \t][ァ-ヴー]{2,3})\([ \t]*[0-9]{1,3}[ \t]*(?:歳|才)?[ \t]*\)")
# 男子3名（タカハシ、モリ、イシイ）: the children of a group named in brackets
# A name in kanji with its reading after it, in brackets or in the next cell: 矢島 百花（ヤジマ
# モモカ）, 上田 葵　ウエダ アオイ (each part of the reading as long as a reading of its kanji can be)
_NAME_WITH_READING = compile_guarded(
    r"(?<![一-龥々])(?P<s>[一-龥々]{1,4})[ \t](?P<g>[一-龥々]{1,3})(?:[ \t]*\([ \t]*|[ \t]+|[ \t]*[,\t|][ \t]*)"
    r"(?P<r>(?P<rs>[ァ-ヴー]{1,8})[ \t](?P<rg>[ァ-ヴー]{1,8})|(?P<hs>[ぁ-ゖー]{1,8})[ \t](?P<hg>[ぁ-ゖー]{1,8}))(?=[ \t]*(?:[),\t|\r\n]|$))"
)
_KANA_NAME_LIST = compile_guarded(r"(?:男子|女子|生徒|児童|男児|女児)[0-9]{1,2}名\((?P<list>[ァ-ヴー]{2,6}(?:[、,][ \t]*[ァ-ヴー]{2,6})+)\)")
# 市民課3名（河合、平井、森 彩）: as many surnames or names in brackets as the number before them
_COUNTED_NAMES = compile_guarded(
    r"(?P<count>[1-9])名\((?P<list>[ \t]*[一-龥々]{1,4}(?:[ \t][一-龥々ぁ-ゖ]{1,4})?[ \t]*(?:[、,][ \t]*[一-龥々]{1,4}(?:[ \t][一-龥々ぁ-ゖ]{1,4})?[ \t]*){1,8})\)"
)
# 4年2組の大野 湊の母、大野 千尋です: the child named before the parent who writes
_CHILD_OF_PARENT = compile_guarded(
    r"(?<![一-龥々])(?P<n>[一-龥々]{1,4}[ \t][一-龥々ぁ-ゖ]{1,4})の(?:母|父|母親|父親|祖母|祖父|保護者)"
    # …の母、大野 千尋です / …の母の畠山 智恵です
    r"(?=[ \t]*(?:[、,。]|です|でございます|と申します|の[ \t]*[一-龥々]{1,4}[ \t]?[一-龥々ぁ-ゖ]{1,4}[ \t]*(?:です|と申します)))"
)
# 業者の担当者は「カワグチ」と名乗った: the name someone gave, in quotes
_CALLED_THEMSELVES = compile_guarded(
    r"「(?P<n>[ァ-ヴー]{2,8}|[一-龥々]{1,4}(?:[ \t][一-龥々ぁ-ゖ]{1,4})?|[ぁ-ゖ]{2,6})」[ \t]*と[ \t]*名乗"
    r"|(?<![一-龥々])(?P<s>[一-龥々]{2,4})[ \t]*と[ \t]*名乗"  # 隣家の男性（坂巻と名乗る、60代）
)
# 隣家（表札「木暮」）: the name on a house's nameplate
_NAMEPLATE = compile_guarded(r"(?:表札|名札)[^\n「」]{0,4}「(?P<n>[一-龥々]{1,4}|[ァ-ヴー]{2,8}|[ぁ-ゖ]{2,6})」")
# よろしくお願いいたします。⏎土屋: a surname alone on the line after a letter's closing
_CLOSING_THEN_SURNAME = compile_guarded(
    r"(?:よろしくお願い(?:いた)?します|お願い申し上げます|以上です|失礼いたします|ありがとうございま(?:す|した))[。.!！]?[ \t]*\r?\n"
    r"(?:[ \t]*\r?\n)?[ \t]*(?P<n>[一-龥々]{1,4})[ \t]*(?=\r?\n|$)"
)


def _word_category(word: str) -> str | None:
    """The category the dictionary gives the word read alone ("sei", "noun" …), or None where
    it reads it as more than one word."""
    tokens = _tokenizer().tokenize(word)
    return _local.categories[tokens[0].part_of_speech_id()] if len(tokens) == 1 else None


def _common_noun(word: str) -> bool:
    """The dictionary reads the word alone as one common noun (トイレ, サッカー)."""
    return _word_category(word) == "noun"


def _is_surname(word: str) -> bool:
    """The dictionary reads the word alone as one family name."""
    return _word_category(word) in ("sei", "name")


# A name alone on a line, right above the writer's address or phone number (the signature of
# a letter or an e-mail): 山田 花子 / やまだ はなこ / ヤマダ ハナコ
_SIGNATURE_LINE = _compile_latin(
    r"[ \t]*(?P<n>[一-龥々]{1,4}[ \t]{1,2}[一-龥々ぁ-ゖ]{1,4}|[ぁ-ゖ]{2,6}[ \t]{1,2}[ぁ-ゖ]{1,6}|[ァ-ヴー]{2,8}[ \t]{1,2}[ァ-ヴー]{2,8}"
    r"|[A-Z][a-z]+(?:-[A-Z][a-z]+)?[ \t][A-Z][a-zA-Z]+(?:-[A-Z][a-z]+)?)"
    r"[ \t]*(?:[（(](?:" + _RELATION_WORDS + r")[）)])?[ \t]*\r?$"
)
_LATIN_SIGNATURE = _compile_latin(r"[A-Z][a-z]+")
_CONTACT_LINE = compile_guarded(r"[ \t]*(?:住所|電話|でんわ|TEL|携帯|連絡先|メール|E-?mail|〒)", re.I)
_NOT_SIGNATURE = compile_guarded(r"[課係室部局所庁省館院校園会社店]$|以上|以下|御中|各位|担当|記$")
_GIVEN_KANA_LINE = compile_guarded(r"[ぁ-ゖ]{2,6}[ \t]{1,2}[ぁ-ゖ]{1,6}")
_CONTACT_TYPES = frozenset(("ADDRESS", "PHONE", "EMAIL", "POSTAL_CODE"))


def _signatures(text: str, people: list[Item], contacts: list[Item], name_tokens: set[int]) -> list[Item]:
    out: list[Item] = []
    starts = {c.start for c in contacts if c.type in _CONTACT_TYPES}
    seen: set[int] = set()
    for contact_start in sorted(starts):
        line_start = text.rfind("\n", 0, contact_start) + 1
        if line_start in seen or line_start < 2:
            continue
        seen.add(line_start)
        head = text[line_start:contact_start]
        if head.strip(" \t") and not _CONTACT_LINE.match(head):
            continue  # the contact is not at the start of its line
        prev_start = text.rfind("\n", 0, line_start - 1) + 1
        m = _SIGNATURE_LINE.fullmatch(text, prev_start, line_start - 1)
        if m is None:
            continue
        parts = m.group("n").split()
        if any(_TITLE_WORD.fullmatch(p) or _NOT_SIGNATURE.search(p) or p in _RELATIONS for p in parts):
            continue
        given_start = m.start("n") + m.group("n").index(parts[1], len(parts[0]))
        if not (
            m.start("n") in name_tokens
            or _LATIN_SIGNATURE.match(m.group("n"))
            or given_start in name_tokens
            or _GIVEN_KANA_LINE.fullmatch(m.group("n"))
            or (_is_kanji(parts[1]) and _given_name_shape(parts[1], False))
        ):
            continue  # 人事 異動, カスタマー サポート: words, not a name
        if _free(people, m.start("n"), m.end("n")):
            out.append(Item("PERSON", m.start("n"), m.end("n"), 2, "署名の氏名 / name signed above an address or phone number"))
    return out


# A romanised name signed under a letter's closing: "Best regards,\nTakumi Ishizaki", "Thank you,\nFernanda"
_LATIN_CLOSING = _compile_latin(
    r"(?im:^[ \t]*(?:best regards|kind regards|warm regards|regards|sincerely(?: yours)?|yours sincerely|yours faithfully|"
    r"thank you(?: very much| so much)?(?: for [^\n]{1,40}?)?|thanks(?: again| for [^\n]{1,40}?)?|many thanks|best wishes|best)[ \t]*[,.!]?[ \t]*\r?\n)"
    r"[ \t]*(?P<n>[A-Z][a-z]+(?:-[A-Z][a-z]+)?(?:[ \t]+[A-Z][A-Za-z]+(?:-[A-Z][a-z]+)?){0,2})[ \t]*(?=\r?\n|$|[（(\"'”’」])"
)
# 黄 晨曦（長女）, ヘレラ 小暮 ルシア（同配偶者）: a name followed by the person's relation
_NAME_THEN_RELATION = compile_guarded(
    r"(?<![一-龥々ぁ-ゖァ-ヴー])(?P<n>(?:[一-龥々]{1,4}|[ァ-ヴー]{2,8})(?:[ \t・](?:[一-龥々]{1,4}|[ァ-ヴー]{1,8})){1,2})[ \t]*[（(][ \t]*(?:同)?"
    r"(?:" + _RELATION_WORDS + r"|配偶者|本人|世帯主)[ \t]*[）)]"
)
_LEADING_LABEL = compile_guarded(r"(?:" + _PERSON_LABELS + r")[ \t・]+")
# 王 俊傑様, 王 子涵さん: surname, space, given name (kanji) and an honorific
# (a one-character surname, as in Chinese and Korean names; longer ones are the dictionary's job:
# 本日 美香さん is not a name)
_SHORT_NAME_HONORIFIC = compile_guarded(r"(?<![一-龥々])(?P<n>[一-龥][ \t][一-龥々]{1,2})[ \t]*(?:様|さん|さま|殿)")
# A known surname, a space and a kana given name ending in a kanji (根来 ふさ江, 森 とし子)
_KANA_GIVEN_TAIL = compile_guarded(r"[子江代枝美恵乃世](?=[ \t]*(?:[(、,。\n]|$|様|さん|殿))")
_SURNAME_KANA_GIVEN = compile_guarded(
    r"(?<![一-龥々])(?P<n>(?P<s>[一-龥々]{1,4})[ \t](?:[ぁ-ゖ]{1,3}|[ァ-ヴ]{1,3})[子江代枝美恵乃世])\Z"
)
# A known surname (and given name) before a date written with an era letter, the way a list
# of people gives dates of birth: 漆原 S23.4.17、鎌田 S34.11.2
_ERA_LETTER_DATE = compile_guarded(r"[MTSHR]\.?[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}(?![0-9])")
_SURNAME_ERA_DATE = compile_guarded(r"(?<![一-龥々])(?P<n>(?P<s>[一-龥々]{1,4})(?:[ \t][一-龥々]{1,3})?)[ \t]+\Z")
# A known surname, a space and a short word the dictionary misreads, before an honorific or a
# self-introduction: 蝦名 颯 様, 苫米地 篤と申します (篤と read as one word)
_HONORIFIC_OR_INTRO = compile_guarded(r"様|さん|さま|殿|と申し|です")
_SURNAME_THEN_SHORT = compile_guarded(r"(?<![一-龥々])(?P<n>(?P<s>[一-龥々]{2,4})[ \t](?P<g>[一-龥々]{1,2}))[ \t]*\Z")


def _ending_at(text: str, anchors: re.Pattern[str], name: re.Pattern[str], back: int, *, after: bool = False) -> list[re.Match[str]]:
    """Matches of `name` (a pattern ending in "\\Z") that end where a match of `anchors` begins
    (or, with after, where it ends), looked for in the `back` characters before: patterns
    whose end is rare in a text and whose start is not are found from their end, the whole
    text being scanned only for the rare part."""
    out: list[re.Match[str]] = []
    done = 0
    for a in anchors.finditer(text):
        end = a.end() if after else a.start()
        m = name.search(text, max(done, end - back), end)
        if m is not None:
            out.append(m)
            done = m.end()
    return out
_NOT_A_NAME_PART = compile_guarded(r"[課係部局室所会社市町村区県都府道庁省長員者方家宛御各]$|^(?:御|各|皆)")
# グエン・ティ・ラン様: a katakana name in parts before an honorific
_KATAKANA_NAME_HONORIFIC = compile_guarded(r"(?<![ァ-ヴー・])(?P<n>[ァ-ヴー]{1,10}(?:・[ァ-ヴー]{1,10}){1,4})[ \t]*(?P<h>様|さん|さま|氏|殿)")
# Cheap checks that skip the passes above on texts that cannot match them
_CLOSING_WORD = compile_guarded(r"(?i:regards|sincerely|yours|thank|best)")
_HONORIFIC_CHAR = compile_guarded(r"様|さん|さま|殿")
# 娘のHana（1歳）, 知人のタパさん, 夫のラマ・ビカス: a relative named in another script after の
_RELATIVE_NO_OTHER_SCRIPT = compile_guarded(
    r"(?:" + _RELATION_WORDS + r")[ \t]*の[ \t]*"
    r"(?P<n>[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)?(?=[ \t]*(?:[（(、,]|が|は|を|と|に|も))"
    r"|[ァ-ヴー]{2,8}(?:・[ァ-ヴー]{1,8}){0,3}(?=[ \t]*(?:さん|様|氏|くん|ちゃん|[（(]))"
    # 母のキム・ヨンスクが: a name in parts, then a particle
    r"|[ァ-ヴー]{1,8}(?:・[ァ-ヴー]{1,8}){1,3}(?=[ \t]*(?:が|は|を|と|に|も|の|[、,])))"
)
# A katakana name in parts in a row of an internal list: after a school class (5年3組 ジョアン・サントス),
# before a contact (チョウ・リン / 080-…) or a date of birth (タン・ミン・トゥアン 2001/06/15生)
_KATAKANA_NAME_IN_ROW = compile_guarded(
    r"(?:[0-9]{1,2}年[0-9]{1,2}組[ \t]*|(?<![0-9])[1-6][ \t]?年生?[ \t]+)(?P<n>[ァ-ヴー]{1,10}(?:[・ \t][ァ-ヴー]{1,10}){1,3})(?![ァ-ヴー・])"
    # alone in a table cell (｜チャン・ヴァン・ドゥック｜), or after a case code in brackets (（C-1302 ロペス・マリア）)
    r"|(?:(?<=[|\t])[ \t]*|\([A-Z0-9\-]{2,10}[ \t]+)(?P<t>[ァ-ヴー]{1,10}(?:・[ァ-ヴー]{1,10}){1,3})(?=[ \t]*[|\t)])"
    r"|(?<![ァ-ヴー・])(?P<c>[ァ-ヴー]{1,10}(?:・[ァ-ヴー]{1,10}){1,3})[ \t]*[/／|｜,、]?[ \t]*"
    r"(?=\+?[0-9]{2,5}-[0-9]{1,4}-[0-9]{3,4}|[A-Za-z0-9._%+\-]+@|(?:(?:19|20)[0-9]{2}[/.\-][0-9]{1,2}[/.\-][0-9]{1,2}|(?:昭和|平成|令和)[0-9]{1,2}年[0-9]{1,2}月[0-9]{1,2}日)[ \t]*生)"
)
# キム・ミンジ（金 敏智）, ゴメス・マリア（Maria GOMES）: a katakana name in parts with the same
# name in another script in brackets
_KATAKANA_WITH_OTHER_SCRIPT = _compile_latin(
    r"(?<![ァ-ヴー・])(?P<n>[ァ-ヴー]{1,10}(?:・[ァ-ヴー]{1,10}){1,4})[ \t]*\([ \t]*"
    r"(?P<o>[A-Z][A-Za-z'\-]+(?:[ \t]+[A-Z][A-Za-z'\-]+){1,3}|[一-龥々]{1,2}[ \t][一-龥々]{1,3})[ \t]*\)"
)
# A name in kana after a label: 氏名：ヤマダ タロウ, 世帯主：やまだ はなこ
# (also after a label and a space or は: 児童名（ふりがな） しみず はると, 名前はミヤザキ ユウト)
_KANA_PAIR = compile_guarded(r"[ァ-ヴー][ \t]{1,2}[ァ-ヴー]|[ぁ-ゖ][ \t]{1,2}[ぁ-ゖ]|[ァ-ヴー]・[ァ-ヴー]")
_KANA_AFTER_COLON = compile_guarded(
    r"(?<=[:) \tは（(])(?=[ァ-ヴぁ-ゖ夫妻配長次三四実義養祖父母兄姉弟妹息娘孫子き甥姪叔伯元前内知友同婚交隣])(?:(?:" + _RELATION_WORDS + r")[ \t]+)?"
    r"(?!(?:フリガナ|ヨミガナ|カタカナ|カナ|ローマジ)[ \t])(?P<n>[ァ-ヴー]{1,8}(?:[ \t]{1,2}[ァ-ヴー]{1,8}?){1,4}|[ァ-ヴー]{2,8}(?:・[ァ-ヴー]{1,8}){1,3}|[ぁ-ゖ]{2,8}[ \t]{1,2}[ぁ-ゖ]{1,8}?)"
    # the name ends: a line end, punctuation, an honorific, or a wide gap before the next cell of a row
    r"(?=[ \t]*(?:\r?\n|$|[(（、,。)）]|さん|様|生年月日)|[ \t]{2,}|\t)"
)


_ORGANISATION = compile_guarded(r"会社|法人|協会|組合|財団|社団|機構|センター|事務所|病院|医院|商店|工房|窯元|[課係室部局市町村店園館]$")
_NAME_CELL = compile_guarded(r"[一-龥々ァ-ヴーぁ-ゖ・]{1,16}(?:[ \t][一-龥々ァ-ヴーぁ-ゖ・]{1,10}){0,2}")
_FORM_WORD = compile_guarded(r"事項|年月日|月日|[前後欄等]$|区分|種類|内容|理由|方法|場所|所在地|番号|合計|小計|備考|記入|なし")


def _whole_name_cells(text: str, items: list[Item], columns: Columns) -> list[Item]:
    """A cell under a 氏名 column holding a name-shaped value is one person, whole (甲斐 美琴,
    サントス ルアナ), even where the dictionary found only a part of it or nothing."""
    for start, end in columns.names:
        if (
            not _NAME_CELL.fullmatch(text, start, end)
            or _TITLE_WORD.fullmatch(text, start, end)
            or _ORGANISATION.search(text, start, end)
            or _FORM_WORD.search(text, start, end)
        ):
            continue
        if not any(it.start == start and it.end == end for it in items):
            items = _as_one_name(items, start, end, "氏名欄の氏名 / personal name after a name label")
    return items


# A row of a table with no header (cells split by a comma, a tab or |): a cell holding a name
# and nothing else, with a note in brackets at most (Lee Jiho（桜丘中1）)
_ROW_NAME = _compile_latin(
    r"(?P<n>(?P<l>[A-Z][A-Za-z'\-]+(?:[ \t]+[A-Z][A-Za-z'\-]+){1,2})"
    r"|(?P<k>[ァ-ヴー]{1,10}(?:[ \t・][ァ-ヴー]{1,10}){1,3})"
    r"|(?P<j>[一-龥々]{1,4}[ \t][一-龥々ぁ-ゖァ-ヴー]{1,5}))"
    r"(?:[ \t]*\([^)\n]{1,20}\))?"
)
_ROW_SEPARATORS = (",", "\t", "|", "/")  # (／ is / after normalisation: KURODA Sandra Tiemi／ポルトガル語／090-…)
# What makes a row a record of people: an identifier, a contact or a date of birth in it
_ROW_PERSONAL = frozenset(("BIRTH_DATE", "MY_NUMBER", "BANK_ACCOUNT", "PHONE", "EMAIL", "ADDRESS", "PASSPORT", "DRIVERS_LICENSE"))


def _people_in_rows(text: str, people: list[Item], found: list[Item]) -> list[Item]:
    """Names in the cells of a table with no header: a name-shaped cell is a person where its
    row holds a person already found or a personal identifier, contact or date of birth
    (847748448349,Chen Yu-ting,080-9034-1276), or where the same column of the table holds a
    person already found in another row (14｜丸岡 蒼｜… / 22｜ワン・ハオ（若葉台小1年）｜…)."""
    rows: list[tuple[str, list[tuple[int, int]]]] = []
    pos = 0
    n = len(text)
    while pos < n:
        cut = text.find("\n", pos)
        stop = n if cut < 0 else cut
        for sep in _ROW_SEPARATORS:
            if text.count(sep, pos, stop) >= 2:
                rows.append((sep, cells(text, pos, stop, sep)))
                break
        else:
            rows.append(("", []))
        pos = stop + 1
    if not any(sep for sep, _ in rows):
        return []
    def holds(items: list[Item], start: int, end: int, types: frozenset[str] | None) -> bool:
        return any(start <= it.start and it.end <= end and (types is None or it.type in types) for it in items)
    # columns holding a person in some row of a block (consecutive rows with the same separator and width)
    person_columns: set[tuple[int, int]] = set()  # (block, column)
    block = 0
    previous: tuple[str, int] = ("", 0)
    blocks: list[int] = []
    for sep, row_cells in rows:
        if (sep, len(row_cells)) != previous:
            block += 1
            previous = (sep, len(row_cells))
        blocks.append(block)
        for c, (a, b) in enumerate(row_cells):
            if sep and any(it.start == a and it.end <= b for it in people if it.type == "PERSON"):
                person_columns.add((block, c))
    out: list[Item] = []
    for (sep, row_cells), blk in zip(rows, blocks):
        if not sep or len(row_cells) < 3:
            continue
        row_start, row_end = row_cells[0][0], row_cells[-1][1]
        personal_row = holds(found, row_start, row_end, _ROW_PERSONAL) or holds(people, row_start, row_end, None)
        for c, (a, b) in enumerate(row_cells):
            if a >= b or not (personal_row or (blk, c) in person_columns):
                continue
            m = _ROW_NAME.fullmatch(text, a, b)
            if m is None or not _free(people + out, *m.span("n")) or not _row_name(m):
                continue
            out.append(Item("PERSON", m.start("n"), m.end("n"), 2, "表の行の氏名 / personal name in a row of a table"))
    return out


def _personnel_paper(text: str, memo: list[bool]) -> bool:
    """The text is an internal personnel paper; memo keeps the answer for the next call."""
    if not memo:
        memo.append(_PERSONNEL_PAPER.search(text) is not None)
    return memo[0]


def _title_or_office(word: str) -> bool:
    """A title (課長, 委員) or a word ending like an office or a group (総務課, 御中): not a word of a name."""
    return bool(_TITLE_WORD.fullmatch(word) or _NOT_A_NAME_PART.search(word))


def _never_in_a_name(word: str) -> bool:
    """A family relation, a title, an office, a form word or an organisation: a word that is
    never one of the words of a person's name."""
    return bool(word in _RELATIONS or _title_or_office(word) or _FORM_WORD.search(word) or _ORGANISATION.search(word))


def _labelled_name(text: str, m: re.Match[str]) -> bool:
    """The value after a label is a name: none of its words is a title, an office, a place or
    a form word; after a name label anything name-shaped counts, after another word ending in
    者 or a family relation the dictionary must know a part of it as a name, or an age, a date
    of birth or an honorific must follow."""
    label, surname, given = m.group("label"), m.group("s"), m.group("g")
    if _STAFF_LABEL.search(label) or _FIELD_WORD.search(m.group("n")):
        return False
    if _never_in_a_name(surname) or _never_in_a_name(given):
        return False
    if _PLACE_WORD.match(given) or given in _NOT_GIVEN_NAMES or given in _NOT_GIVEN_ONE or _FORM_CHARS.intersection(given):
        return False  # 住所氏名 山田 記載: a form word after the surname
    if _STRONG_LABEL.fullmatch(label):
        return True
    return (
        _word_category(surname) in ("sei", "name")
        or _word_category(given) in ("mei", "name")
        or _AGE_OR_BIRTH_AFTER.match(text, m.end("n")) is not None
    )


def _katakana_phrase(value: str) -> bool:
    """カスタマー・サポート: katakana words of a phrase, not a name (ワン・ハオ: short words that
    are also common nouns can still be a name). False for a value not all in katakana."""
    if not _KATAKANA_WORDS.fullmatch(value):
        return False
    parts = re.split(r"[ \t・]", value)
    return all(_common_noun(part) for part in parts) and any(len(part) >= 4 for part in parts)


def _row_name(m: re.Match[str]) -> bool:
    """The cell's words are a name, not a title, an organisation or a katakana phrase."""
    value = m.group("n")
    parts = re.split(r"[ \t・]", value)
    if any(_title_or_office(part) for part in parts):
        return False
    if _ORGANISATION.search(value) or _FORM_WORD.search(value) or _ORGANISATION_WORD.search(value):
        return False
    if m.group("k"):
        return not _katakana_phrase(value)
    if m.group("j"):
        return _is_surname(parts[0])
    return True


# 鴨志田 浩（船橋市三山6-22-1）：… / タン・メイリン（船橋市…）: a speaker at the start of a line with
# their address in parentheses (a record of residents' remarks)
_SPEAKER = compile_guarded(r"[ \t]*(?P<n>[一-龥々]{1,4}[ \t][一-龥々ぁ-ゖァ-ヴー]{1,5}|[ァ-ヴー]{2,8}(?:・[ァ-ヴー]{1,8}){1,3})[ \t]*[（(][ \t]*$")


def _speakers_with_addresses(text: str, people: list[Item], contacts: list[Item]) -> list[Item]:
    out: list[Item] = []
    for address in contacts:
        if address.type != "ADDRESS":
            continue
        line_start = text.rfind("\n", 0, address.start) + 1
        m = _SPEAKER.fullmatch(text, line_start, address.start)
        if m is None or _TITLE_WORD.search(m.group("n")) or not _free(people + out, m.start("n"), m.end("n")):
            continue
        out.append(Item("PERSON", m.start("n"), m.end("n"), 2, "住所を添えた氏名 / name given with an address"))
    return out


_EXTENSION_AFTER = compile_guarded(r"[ \t]*[（(][ \t]*(?:内線|直通|電話|TEL)")
_CONTACT_NEXT_LINE = compile_guarded(r"[ \t]*(?:電話|TEL|Tel|内線|直通|FAX|メール|E-?mail)", re.I)


def _staff_contact(text: str, end: int) -> bool:
    """After a titled name: (内線 …), or the line below starts with 電話/メール (a contact block)."""
    if _EXTENSION_AFTER.match(text, end):
        return True
    line_end = text.find("\n", end)
    return line_end >= 0 and _CONTACT_NEXT_LINE.match(text, line_end + 1) is not None


def _has_colon(text: str, start: int, end: int) -> bool:
    return text.find(":", start, end) >= 0 or text.find("：", start, end) >= 0


def _remember_surname(text: str, start: int, end: int, surnames: set[str]) -> None:
    """Keep the surname of a person named in a public role (later written alone: 藤本さんは…)."""
    value = text[start:end]
    space = _SPACE_IN_NAME.search(value)
    surnames.add(value[: space.start()] if space else value)


def _labelled_at(text: str, start: int, end: int, columns: Columns) -> bool:
    """A name label stands right before start (on its line), or start..end is in a name column."""
    line_start = text.rfind("\n", 0, start) + 1
    return (
        bool(_LABEL.search(text[max(line_start, start - 30) : start]))
        or bool(columns.names and columns.in_name_cell(start, end))
        or _VENDOR_CONTACT.search(text, max(line_start, start - 60), start) is not None  # 有限会社ミナト商会 …（担当：須藤 真帆）
    )


# A given name after a family relation and の ("長男の蒼（3歳）", "夫の健司、"): a name the
# dictionary knows, or one kanji followed by the child's age, school year or birth date.
_AGE_PAREN = compile_guarded(
    r"[ \t]*[(（](?:[0-9]{1,3}|[^)）\n]{0,20}?(?:[0-9]{1,2}[ \t]?(?:歳|才|か月|ヶ月|カ月)|[0-9][ \t]?年生?|生まれ|年少|年中|年長)[^)）\n]{0,10})[)）]"
)
# A person's age in brackets right after a name: 浜口 勇気（42）, 浜口 勇気（42歳、無職）
_HONORIFIC_GLUED = compile_guarded(r"(?:さん|様|さま|殿|くん|ちゃん|君)")
_AGE_AFTER = compile_guarded(r"[ \t]*\([ \t]*(?:[0-9]{1,3}[ \t]*(?:歳|才)?|[小中高][ \t]*[1-6](?:年生?)?)[ \t]*[)、,・]")
_AFTER_RELATIVE_NAME = compile_guarded(r"[ \t]*(?:[(（、,。]|は|が|も|と|に|を|$)")


def _relative_after_no(text: str, morphemes: list[tuple[int, int, str, str]], k: int, count: int) -> tuple[int, int] | None:
    start, end, cat, surface = morphemes[k]
    if cat in _NAME_CATS and (_is_kanji(surface) or _GIVEN_KANA.fullmatch(surface)) and len(surface) <= 4:
        if _AFTER_RELATIVE_NAME.match(text, end) and not _INSTITUTION_AFTER.match(text, end):
            return start, end
        return None
    if cat == "noun" and len(surface) == 1 and _is_kanji(surface) and surface not in _NOT_GIVEN_ONE and _AGE_PAREN.match(text, end):
        return start, end
    return None


def _as_one_name(items: list[Item], start: int, end: int, reason: str) -> list[Item]:
    """items with start..end as one PERSON in place of the parts of it found before (グエン・
    ティ・ラン found as three words); unchanged where it overlaps an item outside it."""
    outside = [it for it in items if not (start <= it.start and it.end <= end)]
    if not _free(outside, start, end):
        return items
    return [*outside, Item("PERSON", start, end, 2, reason)]


def _plausible_reading(m: re.Match[str]) -> bool:
    """Each part of the reading is as long as a reading of its kanji can be: one to four kana
    per kanji (上田 → ウエダ, 葵 → アオイ), so 総務 課 → ソウム カ fits but 市 民 → シミンカイカン does not."""
    kana = (m.group("rs"), m.group("rg")) if m.group("rs") else (m.group("hs"), m.group("hg"))
    return all(len(k) <= len(reading) <= 4 * len(k) + 1 for k, reading in zip((m.group("s"), m.group("g")), kana))


def _free(items: list[Item], start: int, end: int) -> bool:
    return all(end <= it.start or start >= it.end for it in items)


def _add_person(items: list[Item], start: int, end: int, reason: str) -> None:
    """Add a PERSON item unless it overlaps one already found."""
    if _free(items, start, end):
        items.append(Item("PERSON", start, end, 2, reason))


# "My name is Daniel Smith" (given name first in English text)
# The particles inside a romanised surname: Maria Clara dos Santos, Ludwig van Beethoven
_MY_NAME_IS = _compile_latin(
    r"(?<![A-Za-z])(?:(?i:my name is|my name's|meu nome é|me chamo|mi nombre es|me llamo)[ \t]+(?P<n>[A-Z][A-Za-z'\-]+(?:[ \t]+" + _LATIN_PARTICLE + r"[A-Z][A-Za-z'\-]+){1,3})"
    # "my son Anish", "my wife, Sarah Lee", "my husband is Joao Pedro dos Santos": a relative named in English
    r"|(?i:my[ \t]+(?:son|daughter|wife|husband|partner|mother|father|mum|mom|dad|brother|sister|child|grandmother|grandfather))"
    r"(?:,|[ \t]+is)?[ \t]+(?P<r>[A-Z][a-z]+(?:[ \t]+" + _LATIN_INITIAL + _LATIN_PARTICLE + r"[A-Z][A-Za-z'\-]+){0,3}|[一-龥]{1,2}[ \t]?[一-龥]{1,3}))(?![A-Za-z])"
)
# The reading of a name in parentheses after it: 山田 花子（やまだ はなこ）, （ヤマダ ハナコ）
# (also after an honorific, and with more after a comma: 鎌田 千夏さん（かまた ちなつ）, 長尾 萌さん（ながお もえ、2年目）)
_READING_OPEN = r"(?:さん|様|さま|氏|殿)?[ \t]*[（(][ \t]*"
_READING_CLOSE = r"[ \t]*(?:[、,][^）)\n]{1,24})?[）)]"
_READING = compile_guarded(r"[ \t]*" + _READING_OPEN + r"(?P<n>[ぁ-ゖー]{1,8}[ \t]+[ぁ-ゖー]{1,8}|[ァ-ヴー]{1,8}[ \t]+[ァ-ヴー]{1,8}|[ぁ-ゖ]{3,10})" + _READING_CLOSE)
# The reading in the next cell of a row, or after a wide gap: 上田 葵　ウエダ アオイ,
# Tran Thi Mai,チャン ティ マイ,7 (the whole cell, up to the next separator or the line end)
_READING_CELL = compile_guarded(
    r"(?:[ \t]+|[ \t]*[,\t|][ \t]*)(?P<n>[ァ-ヴー]{1,8}(?:[ \t][ァ-ヴー]{1,8}){1,2}|[ぁ-ゖー]{1,8}[ \t][ぁ-ゖー]{1,8})(?=[ \t]*(?:[,\t|\r\n]|$))"
)
# The same person written another way, after a romanised name: NGUYEN THI HOA（グエン・ティ・ホア）, CHEN Yuting（陳 雨婷）
_OTHER_WRITING = _compile_latin(
    r"[ \t]*" + _READING_OPEN + r"(?P<n>[ァ-ヴー]{1,8}(?:[ \t・=][ァ-ヴー]{1,8}){1,3}|[一-龥々]{1,3}[ \t][一-龥々]{1,3}|[ぁ-ゖ]{1,8}[ \t][ぁ-ゖ]{1,8})" + _READING_CLOSE
)
# 早瀬 ミア（HAYASE Mia）: the romanised name after a Japanese one
_LATIN_WRITING = _compile_latin(
    r"[ \t]*[（(][ \t]*(?P<n>[A-Z][A-Za-z'\-]+(?:[ \t]+[A-Z][A-Za-z'\-]+){1,3})[ \t]*[）)]"
    # 真田 圭吾 / Keigo Sanada: a signature with the name in both scripts
    r"|[ \t]*[/／][ \t]*(?P<s>[A-Z][a-z'\-]+(?:[ \t]+[A-Z][A-Za-z'\-]+){1,2})[ \t]*(?=\r?\n|$)"
)
_HAS_KANJI = compile_guarded(r"[一-龥々]")
# After a surname already found with a given name, the same surname + space + a short given
# name is a relative's name (a household list: 東 美智子 … 長男 東 蒼空).
_GIVEN_AFTER_SURNAME = compile_guarded(r"[ \t]{1,2}([一-龥々]{1,3}|[ぁ-ゖ]{2,4}|[ァ-ヴー]{2,5})")
_NAME_CHAR = compile_guarded(r"[一-龥々ぁ-ゖァ-ヴー]")
_SPACE_IN_NAME = compile_guarded(r"[ \t]")
_TITLE_ONLY = compile_guarded(r"(?:" + _HIGH_TITLES + "|" + _TITLES + r")")


_HIRAGANA_GIVEN = compile_guarded(r"[ぁ-ゖ]{2,4}")
_VOLUNTEER_TITLE = compile_guarded(r"民生児童委員|民生委員|児童委員|主任児童委員")


def _glued_title_head(text: str, start: int, end: int) -> int:
    """How many characters at the end of a name span begin a volunteer's title written right
    after it (桑田民生委員: 民生 begins 民生委員); else 0."""
    for cut in (2, 1):
        if end - start > cut and _VOLUNTEER_TITLE.match(text, end - cut) and _VOLUNTEER_TITLE.match(text, end - cut).end() > end:
            return cut
    return 0


def _glued_title_tail(text: str, start: int, end: int) -> int:
    """How many characters at the start of a name span finish a title written right before it
    (係長村松 恵美子: 長 belongs to 係長), provided a name with a space is left; else 0."""
    space = text.find(" ", start, end)
    for cut in (1, 2):
        if space - start <= cut:  # keep at least one character of the surname
            break
        for back in (1, 2, 3, 4):
            if start - back >= 0 and _TITLE_ONLY.fullmatch(text, start - back, start + cut):
                return cut
    return 0


def _readings_and_relatives(text: str, people: list[Item]) -> list[Item]:
    """people plus the readings written after them and relatives with the same surname; a
    surname found alone is replaced by the full name that starts with it."""
    out: list[Item] = []
    surnames: set[str] = set()
    replaced: set[int] = set()  # people found as a part of a reading written whole after a name
    for person in people:
        m = _READING.match(text, person.end)
        if (
            m
            and _HAS_KANJI.search(text, person.start, person.end)
            and _free(people, m.start("n"), m.end("n"))
            and _free(out, m.start("n"), m.end("n"))
        ):
            out.append(Item("PERSON", m.start("n"), m.end("n"), 2, "氏名の読み / reading of a personal name"))
        m = _READING_CELL.match(text, person.end) if m is None and _SPACE_IN_NAME.search(text, person.start, person.end) else None
        if m is not None and _free(out, m.start("n"), m.end("n")):
            # a part of the reading found as a word of its own gives way to the whole reading
            inside = [p for p in people if m.start("n") <= p.start and p.end <= m.end("n")]
            if _free([p for p in people if p not in inside], m.start("n"), m.end("n")):
                replaced.update(id(p) for p in inside)
                out.append(Item("PERSON", m.start("n"), m.end("n"), 2, "氏名の読み / reading of a personal name"))
        m = _OTHER_WRITING.match(text, person.end) or _LATIN_WRITING.match(text, person.end)
        group = "n" if m is None or m.group("n") is not None else "s"
        if m is not None and (
            (_HAS_KANJI.search(m.group(group)) and _HAS_KANJI.search(text, person.start, person.end))
            or any(_title_or_office(part) for part in m.group(group).split())
        ):
            m = None  # 秋山 千晴（福祉課 主任）: a section and a title, not the name written another way
        if m is not None:
            if _free(people, m.start(group), m.end(group)) and _free(out, m.start(group), m.end(group)):
                out.append(Item("PERSON", m.start(group), m.end(group), 2, "氏名の別表記 / the name written another way"))
        value = text[person.start : person.end]
        space = _SPACE_IN_NAME.search(value)
        if space and _is_kanji(value[: space.start()]):
            surnames.add(value[: space.start()])
    if replaced:
        people = [p for p in people if id(p) not in replaced]
    for surname in surnames:
        pos = text.find(surname)
        while pos >= 0:
            start = pos
            pos = text.find(surname, pos + 1)
            if start > 0 and _NAME_CHAR.match(text, start - 1):
                continue
            m = _GIVEN_AFTER_SURNAME.match(text, start + len(surname))
            if m is None:
                continue
            end = m.end()
            given = m.group(1)
            alone = [p for p in people if p.start == start and p.end == start + len(surname)]
            if (
                _free([p for p in people if p not in alone], start, end)
                and _free(out, start, end)
                and _NAME_END.match(text, end)
                and given not in _NOT_GIVEN_NAMES
                and given not in _RELATIONS
                and not (len(given) == 1 and given in _NOT_GIVEN_ONE)
                and not _TITLE_WORD.fullmatch(given)
                and not _PLACE_WORD.match(given)
            ):
                if alone:
                    people = [p for p in people if p not in alone]
                out.append(Item("PERSON", start, end, 2, "氏名（姓名）/ personal name (family and given name)"))
    return people + out


_GIVEN_KANA = compile_guarded(r"[ぁ-ん]{2,4}|[ァ-ヴ]{2,3}")
# Common endings of given names (花子, 由美, 明日香, 太郎, 健介, 翔太 …).
# 玉城 陽向で: a particle after a given name the dictionary splits
_PARTICLE_AFTER = compile_guarded(r"[でがはとも](?![ぁ-ゖ]{2})|[ \t]+[（(]")
_GIVEN_FINAL = frozenset("子美香奈恵代江枝郎夫雄男太介助也哉樹斗翔人輝菜乃花音希実佳里理紀織彦之吾治平蔵向愛結空海")
# One-character nouns that follow a name without being a given name (田中 案, 富士 山, 森 家).
# Characters of form words written after a surname (記入欄, 欄外, 記載, 押印, 様式 …), never of a given name.
_FORM_CHARS = frozenset("欄記載署押印等用書表票類外様式済届")
_NOT_GIVEN_ONE = frozenset("案山川駅城町市村区外他等宛名氏様殿係課班組家邸宅側分用内前後中下上方派版号件事話物声顔体病金車")


def _split_given_name(surface: str, last_cat: str) -> bool:
    """A given name that the dictionary cut in two: kanji ending like a given name (湊斗), or
    two to four hiragana (ひまり)."""
    if _GIVEN_KANA.fullmatch(surface) and surface[0] in _HIRAGANA_SET:
        return surface not in _NOT_GIVEN_NAMES
    return last_cat in ("noun", "proper") and len(surface) <= 3 and _is_kanji(surface) and surface[-1] in _GIVEN_FINAL


_HIRAGANA_SET = frozenset(chr(c) for c in range(0x3041, 0x3097))


def _given_name_shape(surface: str, proper: bool) -> bool:
    """Could this token be a given name that the dictionary does not tag as one?"""
    if surface in _NOT_GIVEN_NAMES:
        return False
    if _GIVEN_KANA.fullmatch(surface):
        return True
    if not _is_kanji(surface):
        return False
    if len(surface) == 1:
        return surface not in _NOT_GIVEN_ONE
    return proper or surface[-1] in _GIVEN_FINAL


_KANJI_ONLY = re.compile(r"[\u4e00-\u9fff々]*")


def _is_kanji(value: str) -> bool:
    return _KANJI_ONLY.fullmatch(value) is not None
