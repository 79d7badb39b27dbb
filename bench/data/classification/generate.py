"""Generate the template-based part of the labelled corpus (source/50_generated.md).

Deterministic (fixed seed). Every name, address and number is invented: names are random
combinations of common surnames and given names, house numbers are random, My Numbers and
corporate numbers are random digits with a computed check digit, e-mail domains are
example.jp / example.com / example.go.jp, phone numbers are random digits in well-formed
Japanese formats.  The hand-written documents live in source/0*_handwritten.md.

    .venv/bin/python bench/data/classification/generate.py   # writes source/50_generated.md
    .venv/bin/python bench/data/classification/build.py      # writes corpus.jsonl
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "source" / "50_generated.md"

R = random.Random(20261122)
FW = str.maketrans("0123456789-", "０１２３４５６７８９－")


# Check digits as in the design note: one implementation, shared with build.py (which
# validates the corpus with it), independent of the detector under test.
from build import corporate_check_digit, my_number_check_digit  # noqa: E402


def digits(n: int) -> str:
    return "".join(R.choice("0123456789") for _ in range(n))


def valid_my_number() -> str:
    d = digits(11)
    return d + str(my_number_check_digit(d))


def invalid_twelve() -> str:
    d = digits(11)
    return d + str((my_number_check_digit(d) + R.randint(1, 9)) % 10)


def corporate_number() -> str:
    d = digits(12)
    return str(corporate_check_digit(d)) + d


def fmt_my_number(n: str) -> str:
    style = R.choice(["plain", "plain", "space", "hyphen", "fw", "fwspace"])
    if style == "space":
        return f"{n[:4]} {n[4:8]} {n[8:]}"
    if style == "hyphen":
        return f"{n[:4]}-{n[4:8]}-{n[8:]}"
    if style == "fw":
        return n.translate(FW)
    if style == "fwspace":
        return f"{n[:4]}　{n[4:8]}　{n[8:]}".translate(FW)
    return n


AREA4 = ["0263", "0422", "0466", "0428", "0994", "0136", "0178", "0287", "0551", "0748", "0833", "0898", "0955"]


def phone(kind: str | None = None) -> str:
    kind = kind or R.choice(["tokyo", "city", "rural", "mobile", "mobile", "mobile", "ip", "free",
                             "paren", "intl", "fw", "space"])
    if kind == "tokyo":
        return f"03-{digits(4)}-{digits(4)}"
    if kind == "city":
        if R.random() < 0.25:
            return f"06-{digits(4)}-{digits(4)}"
        return f"0{R.choice(['45','52','75','92','11','22','48','78'])}-{digits(3)}-{digits(4)}"
    if kind == "rural":
        return f"{R.choice(AREA4)}-{digits(2)}-{digits(4)}"
    if kind == "mobile":
        return f"{R.choice(['090','080','070'])}-{digits(4)}-{digits(4)}"
    if kind == "ip":
        return f"050-{digits(4)}-{digits(4)}"
    if kind == "free":
        return R.choice([f"0120-{digits(3)}-{digits(3)}", f"0800-{digits(3)}-{digits(4)}"])
    if kind == "paren":
        return R.choice([f"(03){digits(4)}-{digits(4)}", f"（{R.choice(AREA4)}）{digits(2)}-{digits(4)}"])
    if kind == "intl":
        return R.choice([f"+81-90-{digits(4)}-{digits(4)}", f"+81 3 {digits(4)} {digits(4)}",
                         f"+81-80-{digits(4)}-{digits(4)}"])
    if kind == "fw":
        return f"{R.choice(['090','080'])}-{digits(4)}-{digits(4)}".translate(FW)
    if kind == "space":
        return f"{R.choice(['090','080','070'])} {digits(4)} {digits(4)}"
    raise ValueError(kind)


def office_phone() -> str:
    if R.random() < 0.5:
        return f"{R.choice(['03', '06'])}-{digits(4)}-{digits(4)}"
    return f"{R.choice(['011', '022', '045', '048', '052', '075', '078', '082', '092', '098'])}-{digits(3)}-{digits(4)}"


SURNAMES = ("佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水 "
            "山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 "
            "斉藤 福田 太田 西村 藤井 金子 岡本 藤原 中野 三浦 原田 中川 松田 竹内 小野 田村 中山 和田 石田 森田 "
            "上田 原 柴田 酒井 工藤 横山 宮崎 宮本 内田 高木 安藤 島田 谷口 大野 丸山 今井 高田 藤本 武田 村田 "
            "上野 杉山 増田 小山 大塚 平野 菅原 久保 松井 千葉 岩崎 桜井 木下 野口 松尾 菊地 野村 新井 渡部").split()
GIVEN = ("翔太 蓮 大翔 陽翔 悠真 湊 健一 誠 浩 隆 博之 直樹 大輔 和也 拓也 亮 剛 修 勝 正樹 達也 雄一 "
         "美穂 恵美 裕子 真理子 由紀子 陽子 さくら 結衣 陽菜 葵 凛 美咲 彩 千尋 明美 直美 智子 久美子 "
         "恵子 幸子 花子 舞 愛 遥 七海 莉子 涼子 綾 瞳 沙織 楓 萌 颯太 樹 陸 海斗 奈々").split()
KATA = ("ヤマダ タロウ|スズキ ハナコ|タナカ イチロウ|サトウ ミキ|イトウ ケンジ|ナカムラ ユイ|コバヤシ リョウ|"
        "カトウ アヤ|ヨシダ マコト|ワタナベ サキ").split("|")
LATIN = ("NGUYEN Van An|TRAN Thi Lan|LI Wei|KIM Minji|SANTOS Ana|SILVA Pedro|WANG Fang|GARCIA Luis|"
         "PEREZ Sofia|SHARMA Priya").split("|")

PLACES = [
    ("東京都", "杉並区", "阿佐谷南"), ("東京都", "足立区", "西新井"), ("東京都", "八王子市", "横山町"),
    ("東京都", "江戸川区", "船堀"), ("神奈川県", "川崎市中原区", "小杉町"), ("神奈川県", "相模原市南区", "相模大野"),
    ("埼玉県", "川越市", "新富町"), ("千葉県", "柏市", "旭町"), ("茨城県", "水戸市", "元吉田町"),
    ("栃木県", "宇都宮市", "東宿郷"), ("群馬県", "前橋市", "南町"), ("静岡県", "静岡市葵区", "呉服町"),
    ("愛知県", "豊田市", "若宮町"), ("岐阜県", "岐阜市", "長住町"), ("三重県", "津市", "大門"),
    ("大阪府", "豊中市", "本町"), ("大阪府", "大阪市淀川区", "西中島"), ("京都府", "宇治市", "宇治"),
    ("兵庫県", "姫路市", "駅前町"), ("奈良県", "奈良市", "三条町"), ("広島県", "福山市", "霞町"),
    ("岡山県", "倉敷市", "阿知"), ("福岡県", "北九州市小倉北区", "京町"), ("熊本県", "熊本市中央区", "水前寺"),
    ("鹿児島県", "鹿児島市", "荒田"), ("宮城県", "仙台市宮城野区", "榴岡"), ("新潟県", "新潟市中央区", "万代"),
    ("北海道", "旭川市", "宮下通"), ("沖縄県", "浦添市", "城間"), ("石川県", "金沢市", "長町"),
]
BUILDINGS = ["ハイツ若葉", "コーポ桜", "メゾン緑ヶ丘", "パークハイム", "サンライズ", "グリーンコート", "レジデンス東"]
POSTAL_PREFIX = {"東京都": "1", "神奈川県": "2", "埼玉県": "3", "千葉県": "2", "茨城県": "3", "栃木県": "3",
                 "群馬県": "3", "静岡県": "4", "愛知県": "4", "岐阜県": "5", "三重県": "5", "大阪府": "5",
                 "京都府": "6", "兵庫県": "6", "奈良県": "6", "広島県": "7", "岡山県": "7", "福岡県": "8",
                 "熊本県": "8", "鹿児島県": "8", "宮城県": "9", "新潟県": "9", "北海道": "0", "沖縄県": "9",
                 "石川県": "9"}

OFFICES = [  # public buildings: hard negatives (not labelled ADDRESS)
    "東京都千代田区霞が関2丁目1番2号", "東京都千代田区永田町1-6-1", "東京都新宿区西新宿2-8-1",
    "大阪府大阪市中央区大手前2丁目", "愛知県名古屋市中区三の丸3-1-2", "福岡県福岡市博多区東公園7-7",
    "北海道札幌市中央区北3条西6丁目", "宮城県仙台市青葉区本町3-8-1", "神奈川県横浜市中区日本大通1",
    "広島県広島市中区基町10番52号",
]
OFFICE_POSTAL = {"東京都": "100", "大阪府": "540", "愛知県": "460", "福岡県": "812", "北海道": "060",
                 "宮城県": "980", "神奈川": "231", "広島県": "730"}
OFFICIAL_TITLES = ["課長", "課長補佐", "係長", "主査", "部長", "室長", "参事官", "企画官"]
DEPTS = ["総務課", "企画課", "市民課", "保険年金課", "福祉総務課", "子育て支援課", "税務課", "環境政策課",
         "都市計画課", "情報政策課", "危機管理課", "教育総務課"]


def name(kind: str = "kanji") -> str:
    if kind == "kata":
        return R.choice(KATA)
    if kind == "latin":
        return R.choice(LATIN)
    sep = R.choice([" ", " ", "　", ""])
    return f"{R.choice(SURNAMES)}{sep}{R.choice(GIVEN)}"


def official() -> str:
    return f"{R.choice(SURNAMES)} {R.choice(GIVEN)}"


def address() -> tuple[str, str]:
    pref, city, town = R.choice(PLACES)
    c, b, g = R.randint(1, 7), R.randint(1, 40), R.randint(1, 30)
    style = R.randint(0, 4)
    if style == 0:
        tail = f"{c}丁目{b}番{g}号"
    elif style == 1:
        tail = f"{c}-{b}-{g}"
    elif style == 2:
        tail = f"{c}丁目{b}-{g}"
    elif style == 3:
        tail = f"{R.randint(100, 2999)}番地{R.randint(1, 9)}"
    else:
        tail = f"{c}-{b}-{g} {R.choice(BUILDINGS)}{R.randint(1, 9)}0{R.randint(1, 9)}号室"
    start = pref if R.random() < 0.8 else ""
    postal = POSTAL_PREFIX[pref] + digits(2) + "-" + digits(4)
    return start + city + town + tail, postal


def postal_fmt(p: str) -> tuple[str, str, str]:
    """(prefix, labelled, suffix)."""
    style = R.randint(0, 3)
    if style == 0:
        return "〒", p, " "
    if style == 1:
        return "〒", p.translate(FW), "　"
    if style == 2:
        return "郵便番号 ", p.replace("-", ""), " "
    return "〒", p, ""


def birth_date() -> str:
    style = R.randint(0, 6)
    if style == 0:
        y = R.randint(20, 63)
        return f"昭和{y}年{R.randint(1, 12)}月{R.randint(1, 28)}日"
    if style == 1:
        y = R.choice(["元"] + [str(i) for i in range(2, 31)])
        return f"平成{y}年{R.randint(1, 12)}月{R.randint(1, 28)}日"
    if style == 2:
        return f"{R.randint(1940, 2020)}年{R.randint(1, 12)}月{R.randint(1, 28)}日"
    if style == 3:
        return f"{R.randint(1940, 2020)}/{R.randint(1, 12):02d}/{R.randint(1, 28):02d}"
    if style == 4:
        return f"昭和{R.randint(20, 63)}年{R.randint(1, 12)}月{R.randint(1, 28)}日".translate(FW)
    if style == 5:
        era = R.choice("SH")
        return f"{era}{R.randint(1, 60 if era == 'S' else 31)}.{R.randint(1, 12)}.{R.randint(1, 28)}"
    return f"令和{R.choice(['元', '2', '3', '4', '5', '6'])}年{R.randint(1, 12)}月{R.randint(1, 28)}日"


def event_date() -> str:  # not a birth date
    return R.choice([f"令和{R.randint(5, 7)}年{R.randint(1, 12)}月{R.randint(1, 28)}日",
                     f"2025年{R.randint(1, 12)}月{R.randint(1, 28)}日",
                     f"{R.randint(1, 12)}月{R.randint(1, 28)}日"])


def passport() -> str:
    return R.choice(["TK", "TR", "TZ", "MZ", "XA", "TH", "RE"]) + digits(7)


def licence() -> str:
    return R.choice(["30", "31", "40", "45", "50", "62"]) + digits(10)


BANKS = ["北斗銀行", "みずなみ銀行", "東海みらい銀行", "さくら台信用金庫", "南国銀行", "あおば信用組合", "中央みらい銀行"]
BRANCHES = ["本店", "駅前支店", "中央支店", "東支店", "市役所出張所", "青葉台支店", "港支店"]


def bank() -> tuple[str, str, str]:
    if R.random() < 0.2:
        return "ゆうちょ銀行 記号番号 ", f"1{digits(3)}0-{digits(7)}1", ""
    kind = R.choice(["普通", "普通預金", "当座"])
    return f"{R.choice(BANKS)} {R.choice(BRANCHES)} {kind} ", digits(7), ""


def email(person: bool = True) -> str:
    user = R.choice(["taro", "hanako", "k.yamada", "m-suzuki", "info.user", "sato1988", "yui_t", "kenji.w",
                     "a.tanaka", "n.ito", "h-kobayashi", "family.mori"]) + str(R.randint(1, 99))
    return f"{user}@{R.choice(['example.jp', 'example.com', 'mail.example.jp', 'example.ne.jp'])}"


CUSTOM_TERMS = json.loads((HERE / "custom_terms.json").read_text(encoding="utf-8"))["terms"]
MARK2 = ["機密性2情報", "機密性２情報", "機密性2", "取扱注意", "部外秘", "関係者限り", "課内限り", "庁内限り",
         "複製禁止", "転送禁止", "外部提供禁止", "配付禁止"]
MARK3 = ["【秘】", "極秘", "機密性3情報", "機密性３", "秘　取扱注意"]


# --- document builders -------------------------------------------------------------------------
# A document is a list of segments: str, or (TYPE, value) for a labelled entity.

class Doc:
    def __init__(self) -> None:
        self.parts: list = []

    def t(self, s: str) -> "Doc":
        self.parts.append(s)
        return self

    def e(self, typ: str, s: str) -> "Doc":
        self.parts.append((typ, s))
        return self

    def render(self) -> str:
        out = []
        for p in self.parts:
            out.append(p if isinstance(p, str) else f"[[{p[0]}:{p[1]}]]")
        return "".join(out)


def add_address(d: Doc, label: bool = True) -> None:
    addr, postal = address()
    if R.random() < 0.6:
        pre, lab, suf = postal_fmt(postal)
        d.t(pre).e("POSTAL_CODE", lab).t(suf)
    if label:
        d.e("ADDRESS", addr)
    else:
        d.t(addr)


def person(d: Doc, kind: str | None = None) -> None:
    kind = kind or R.choices(["kanji", "kata", "latin"], [85, 10, 5])[0]
    d.e("PERSON", name(kind))


def gen_inquiry(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    topic = R.choice([
        ("国民健康保険の加入手続き", "保険年金課"), ("児童手当の現況届", "子育て支援課"),
        ("住民票の写しの郵送請求", "市民課"), ("軽自動車税の減免", "税務課"), ("介護保険料の納付", "介護保険課"),
        ("ごみ集積所の移設", "環境政策課"), ("放課後児童クラブの申込", "子育て支援課"),
        ("市営住宅の家賃", "住宅課"), ("後期高齢者医療の保険証", "保険年金課"), ("空き家の管理", "都市計画課"),
        ("犬の登録", "生活衛生課"), ("障害福祉サービスの利用", "障害福祉課"),
    ])
    greet = R.choice(["お世話になっております。", "突然のメール失礼します。", "", "いつもありがとうございます。"])
    d.t(f"件名：{topic[0]}について\n{topic[1]} ご担当者様\n{greet}")
    d.t(R.choice(["", "\n"]))
    style = R.randint(0, 2)
    if style == 0:
        d.t("私は")
        person(d)
        d.t("と申します。")
    elif style == 1:
        d.t("\n氏名：")
        person(d)
        d.t("\n")
    else:
        d.t("\n")
        person(d)
        d.t("です。")
    d.t(f"{topic[0]}について教えてください。")
    if R.random() < 0.5:
        d.t("\n住所：")
        add_address(d)
    if R.random() < 0.35:
        d.t("\n生年月日：").e("BIRTH_DATE", birth_date())
    if R.random() < 0.35:
        d.t(R.choice(["\n個人番号：", "\nマイナンバー ", "\n個人番号（マイナンバー）"])).e(
            "MY_NUMBER", fmt_my_number(valid_my_number()))
    if R.random() < 0.7:
        d.t(R.choice(["\n電話：", "\n連絡先 ", "\nTEL ", "\n携帯："])).e("PHONE", phone())
    if R.random() < 0.4:
        d.t(R.choice(["\nメール：", "\nE-mail: ", "\n返信先 "])).e("EMAIL", email())
    if R.random() < 0.2:
        d.t(f"\n受付番号 {invalid_twelve()} で先日も問い合わせています。")
    d.t(R.choice(["\nよろしくお願いいたします。", "\n以上です。", "", "\n至急お願いします。"]))
    return "inquiry", 2, d


def gen_application(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    form = R.choice(["転居届", "国民年金第3号被保険者関係届", "高額療養費支給申請書", "児童扶養手当認定請求書",
                     "パスポート受取委任状", "臨時福祉給付金申請書", "住居確保給付金支給申請書", "税証明交付申請書",
                     "自動車臨時運行許可申請書", "本人通知制度登録申請書"])
    d.t(f"{form}\n申請日：{event_date()}\n申請者氏名：")
    person(d)
    d.t("\n生年月日：").e("BIRTH_DATE", birth_date())
    d.t("\n住所：")
    add_address(d)
    d.t("\n電話番号：").e("PHONE", phone())
    extra = R.sample(["mynum", "licence", "passport", "bank", "email", "family"], k=R.randint(1, 3))
    for x in extra:
        if x == "mynum":
            d.t("\n個人番号：").e("MY_NUMBER", fmt_my_number(valid_my_number()))
        elif x == "licence":
            d.t(R.choice(["\n本人確認書類：運転免許証（番号 ", "\n運転免許証番号："])).e("DRIVERS_LICENSE", licence())
            if d.parts[-2].endswith("番号 "):
                d.t("）")
        elif x == "passport":
            d.t(R.choice(["\n旅券番号：", "\nパスポート番号 "])).e("PASSPORT", passport())
        elif x == "bank":
            pre, num, suf = bank()
            d.t("\n振込先口座：" + pre + ("口座番号 " if R.random() < 0.4 and "ゆうちょ" not in pre else "")).e(
                "BANK_ACCOUNT", num).t(suf)
        elif x == "email":
            d.t("\nメールアドレス：").e("EMAIL", email())
        elif x == "family":
            d.t("\n同居家族：")
            person(d, "kanji")
            d.t("（").e("BIRTH_DATE", birth_date()).t("生）")
    d.t(R.choice(["\n※記入漏れのないようにしてください。", "\n受付印：", "", f"\n添付書類：{R.randint(1, 4)}点"]))
    return "application", 2, d


def gen_minutes(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    meeting = R.choice(["課内ミーティング", "部長会議", "プロジェクト定例", "庁内連絡調整会議", "係会議",
                        "システム調達検討会", "予算査定前打合せ"])
    n = R.randint(1, 20)
    mark = R.random() < 0.5
    if mark:
        d.t(R.choice(MARK2) + "\n")
    d.t(f"第{n}回 {meeting} 議事メモ\n日時：{event_date()} {R.randint(9, 17)}:00～\n")
    d.t(f"出席：{R.choice(DEPTS)}長、{R.choice(DEPTS)}長、担当者{R.randint(2, 9)}名\n")
    items = R.sample([
        f"次年度予算要求額（案）は{R.randint(2, 90)},{R.randint(100, 999)}万円。財政課協議前のため取扱いに注意。",
        f"委託事業者の評価は資料2（p.{R.randint(2, 5)}-{R.randint(6, 12)}）のとおり。契約更新は見送る方向。",
        "条例改正案は議会提出前であり、未定稿として扱う。",
        f"職員の配置換えについて、{R.randint(2, 5)}名の異動を検討中。本人への内示前。",
        f"住民からの苦情（{R.randint(3, 30)}件）の傾向を整理し、次回報告する。",
        "システム障害の原因は調査中。公表時期は部長判断とする。",
    ], k=R.randint(2, 3))
    for k, it in enumerate(items, 1):
        d.t(f"{k}. {it}\n")
    cls = 2
    if R.random() < 0.35:
        d.t("・個別案件：")
        person(d)
        d.t("様（")
        add_address(d)
        d.t("）から再度の申出あり。")
        if R.random() < 0.5:
            d.t("連絡先 ").e("PHONE", phone())
        d.t("\n")
    if R.random() < 0.3:
        d.t("・プロジェクト「")
        d.e("CUSTOM", R.choice(CUSTOM_TERMS))
        d.t("」の進捗を確認。\n")
    d.t(R.choice(["以上", "（記録：担当）", "次回は来月開催。"]))
    return "minutes", cls, d


def gen_decision(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    head = R.choice(["起案（未定稿）", "伺い（案）", "決裁文書（案）", "未定稿", "起案用紙"])
    subj = R.choice(["補助金の交付決定", "業務委託契約の締結", "使用料の減免", "職員研修計画の策定",
                     "情報システム更改方針", "指定管理者の選定", "債権の放棄", "訴訟の提起"])
    d.t(f"{head}\n件名：{subj}について\n起案日：{event_date()}\n")
    amount = f"{R.randint(1, 99)},{R.randint(100, 999)},000円"
    d.t(f"標記について、別紙（{R.randint(1, 3)}～{R.randint(4, 9)}頁）のとおり決定してよろしいか伺います。\n金額：{amount}\n")
    if subj in ("債権の放棄", "訴訟の提起", "使用料の減免") or R.random() < 0.3:
        d.t("相手方：")
        person(d)
        d.t("（")
        add_address(d)
        d.t("）\n")
        if R.random() < 0.4:
            pre, num, suf = bank()
            d.t("振込先：" + pre).e("BANK_ACCOUNT", num).t(suf + "\n")
    if R.random() < 0.2:
        d.t(f"根拠：令和{R.randint(1, 6)}年法律第{R.randint(10, 99)}号第{R.randint(2, 40)}条\n")
    if R.random() < 0.3:
        d.t(R.choice(MARK2))
    return "decision_draft", 2, d


def gen_procurement(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    item = R.choice(["庁舎警備業務", "基幹系システム運用保守", "公用車リース", "学校給食調理業務",
                     "コールセンター運営業務", "道路維持補修工事", "AIチャットボット導入業務", "文書管理システム構築"])
    kind = R.randint(0, 2)
    if kind == 0:
        d.t(f"{item} 予定価格調書\n予定価格：{R.randint(5, 300)},{R.randint(100, 999)},000円（税抜）\n")
        d.t(f"最低制限価格：予定価格の{R.randint(70, 90)}％\n積算：別紙内訳書（p.{R.randint(1, 3)}-{R.randint(4, 9)}）\n")
    elif kind == 1:
        d.t(f"{item} 入札書（開札前）\n")
        for _ in range(R.randint(2, 4)):
            d.t(f"{R.choice(['株式会社', '有限会社', '合同会社'])}{R.choice(['北辰', '東邦', '大和', '未来', '中央', '双葉', '青山'])}"
                f"{R.choice(['テック', 'サービス', '建設', 'システムズ', '総合管理'])}（法人番号 ")
            d.e("CORPORATE_NUMBER", corporate_number())
            d.t(f"）　{R.randint(10, 99)},{R.randint(100, 999)},000円\n")
    else:
        d.t(f"{item} 技術評価（委員限り）\n")
        d.t(f"提案A：{R.randint(50, 90)}点　提案B：{R.randint(50, 90)}点　提案C：{R.randint(50, 90)}点\n")
        d.t("評価の内訳は審査会終了まで非公表。\n")
    if R.random() < 0.3:
        d.t("業者担当：")
        person(d)
        d.t("　").e("EMAIL", email())
        d.t("\n")
    if R.random() < 0.4:
        d.t(R.choice(MARK2))
    return "procurement", 2, d


def gen_notice(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    kind = R.randint(0, 4)
    off = official()
    if kind == 0:
        d.t(f"告示第{R.randint(10, 400)}号\n令和{R.randint(1, 6)}年法律第{R.randint(10, 200)}号の施行に伴い、規則の一部を改正したので告示する。\n")
        d.t(f"{event_date()}\n{R.choice(['○○市長', '○○町長', '○○県知事'])}　{off}\n")
    elif kind == 1:
        d.t(f"説明会の開催について\n日時：{event_date()} 14時から\n会場：{R.choice(OFFICES)} 本庁舎{R.randint(2, 12)}階会議室\n")
        d.t(f"説明者：{R.choice(DEPTS)}{R.choice(OFFICIAL_TITLES)} {off}\n")
    elif kind == 2:
        d.t(f"文書番号 {invalid_twelve()}\n")
        d.t(f"{R.choice(['各課長', '関係機関各位'])} 殿\n{R.choice(DEPTS)}長 {off}\n")
        d.t(f"資料（{R.randint(1, 5)}～{R.randint(6, 30)}ページ）を送付しますので、{event_date()}までにご確認ください。\n")
    elif kind == 3:
        d.t(f"入札公告\n件名：{R.choice(['橋梁点検業務', '庁舎空調更新工事', '窓口案内業務'])}\n")
        d.t(f"入札日：{event_date()}　予定数量：{R.randint(1, 20)}式\n")
        d.t(f"契約担当官等：{R.choice(DEPTS)}長 {off}\n所在地：{R.choice(OFFICES)}\n")
    else:
        d.t(f"人事異動（{event_date()}付）\n")
        for _ in range(R.randint(2, 4)):
            d.t(f"{R.choice(DEPTS)}{R.choice(OFFICIAL_TITLES)}　{official()}\n")
    if R.random() < 0.6:
        d.t(f"問い合わせ先：{R.choice(DEPTS)} ").e("PHONE", office_phone())
        if R.random() < 0.4:
            d.t(" ").e("EMAIL", f"{R.choice(['soumu', 'kikaku', 'shimin', 'info'])}@{R.choice(['city.example.lg.jp', 'example.go.jp', 'pref.example.lg.jp'])}")
    if R.random() < 0.2:
        off_addr = R.choice(OFFICES)
        d.t("\n〒").e("POSTAL_CODE", f"{OFFICE_POSTAL[off_addr[:3]]}-89{digits(2)}").t(f" {off_addr}")
    return "notice", 1, d


def gen_press(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    min_ = R.choice(["総務省", "デジタル庁", "厚生労働省", "国土交通省", "環境省", "文部科学省", "経済産業省"])
    topic = R.choice(["調査結果の公表", "有識者会議の開催", "補正予算の概要", "ガイドラインの改定",
                      "実証事業の採択結果", "統計速報", "表彰式の開催"])
    d.t(f"報道発表\n{event_date()}\n{min_}\n{topic}について\n")
    d.t(f"本日、{topic}について公表しました。資料は別添（{R.randint(1, 4)}～{R.randint(5, 40)}ページ）のとおりです。\n")
    if R.random() < 0.5:
        d.t(f"事業規模は約{R.randint(10, 900)}億円、対象は{R.randint(10, 1700)}団体です。\n")
    if R.random() < 0.3:
        d.t(f"根拠法令：令和{R.randint(2, 6)}年法律第{R.randint(10, 99)}号\n")
    if R.random() < 0.3:
        d.t("採択事業者：株式会社サンプルラボ（法人番号 ").e("CORPORATE_NUMBER", corporate_number()).t("）\n")
    d.t(f"【問合せ先】{R.choice(DEPTS)} {R.choice(OFFICIAL_TITLES)} {official()}\n")
    d.t("電話：").e("PHONE", office_phone()).t("（代表）")
    if R.random() < 0.4:
        d.t("\nメール：").e("EMAIL", f"press@{R.choice(['example.go.jp', 'digital.example.go.jp'])}")
    return "press_release", 1, d


def gen_chat(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    kind = R.randint(0, 7)
    if kind == 0:
        d.t(R.choice(["次の問い合わせへの回答案を作成して。", "以下を要約して：", "この文面を丁寧語に直して。"]))
        d.t("\n")
        person(d)
        d.t(R.choice(["さん", "様", "氏"]) + "から、")
        d.t(R.choice(["税の納付について", "転居手続について", "手当の支給日について"]) + "問い合わせ。")
        if R.random() < 0.6:
            d.t("電話 ").e("PHONE", phone())
        if R.random() < 0.4:
            d.t("、住所 ")
            add_address(d)
        return "chat_prompt", 2, d
    if kind == 1:
        d.t("次のデータを表形式に整理して：\n")
        for _ in range(R.randint(2, 3)):
            person(d)
            d.t("、")
            d.e("BIRTH_DATE", birth_date())
            d.t("生、")
            d.e("PHONE", phone())
            d.t("\n")
        return "chat_prompt", 2, d
    if kind == 2:
        d.t(R.choice([f"令和{R.randint(1, 6)}年法律第{R.randint(10, 200)}号の第{R.randint(1, 30)}条を分かりやすく説明して。",
                      f"議事録のp.{R.randint(2, 9)}-{R.randint(10, 20)}の論点を3つにまとめて。",
                      f"予算額 {R.randint(100, 999)},{R.randint(100, 999)},000円 を億円単位で表記して。",
                      f"文書番号 {invalid_twelve()} の回議文書の決裁ルートの一般的な例を示して。",
                      f"注文番号{invalid_twelve()}の納品遅延について業者宛の照会文を作って。",
                      f"{event_date()}に開催する研修の案内文を作成して。",
                      "公用文における「及び」と「並びに」の使い分けを教えて。",
                      "住民説明会の想定問答を10問作って。テーマは下水道料金の改定。"]))
        return "chat_prompt", 1, d
    if kind == 3:
        d.t(R.choice(MARK2) + "の資料です。" + R.choice([
            "来年度の組織再編案の問題点を挙げて。", "未公表の補助金配分案の妥当性を検討して。",
            "内部監査の指摘事項への対応策を考えて。", "予定価格の積算方法を見直したい。要点を整理して。"]))
        return "chat_prompt", 2, d
    if kind == 4:
        d.t(R.choice(MARK3) + " " + R.choice([
            "の文書を要約してください。重要施設の警備体制について。", "扱いの計画案を箇条書きにして。",
            "指定の外交交渉方針について論点を整理して。"]))
        return "chat_prompt", 3, d
    if kind == 5:
        term = R.choice(CUSTOM_TERMS)
        d.t("「").e("CUSTOM", term).t("」" + R.choice([
            "の次期フェーズの工程表案を作って。", "について、関係課への説明資料の骨子を作成して。",
            "の進捗報告を要約して。"]))
        return "chat_prompt", 2, d
    if kind == 6:
        d.t("この人の本人確認をしたい。")
        typ = R.choice(["MY_NUMBER", "PASSPORT", "DRIVERS_LICENSE"])
        label = {"MY_NUMBER": "個人番号 ", "PASSPORT": "旅券番号 ", "DRIVERS_LICENSE": "免許証番号 "}[typ]
        val = {"MY_NUMBER": fmt_my_number(valid_my_number()), "PASSPORT": passport(), "DRIVERS_LICENSE": licence()}[typ]
        person(d)
        d.t("、" + label).e(typ, val).t("。手順を教えて。")
        return "chat_prompt", 2, d
    d.t(R.choice(["秘書課への依頼文を作って。", "秘密保持契約のひな形の一般的な条項を挙げて。",
                  "市長の公務日程（公表済み）を広報用に整形して。", "便秘の予防について市民向けコラムを書いて。"]))
    return "chat_prompt", 1, d


def gen_marked3(i: int) -> tuple[str, int, Doc]:
    d = Doc()
    d.t(R.choice(MARK3) + "\n")
    d.t(R.choice(["重要インフラ防護計画（改訂案）", "要人来訪時の警備配置", "サイバー攻撃事案の対処状況",
                  "外交交渉方針（内部検討用）", "危機管理体制の見直し（非公表）", "不正アクセス事案の捜査協力依頼",
                  "原子力施設周辺の警備強化について", "情報収集衛星の運用計画（抜粋）", "テロ対策訓練シナリオ（非公表）"]) + "\n")
    d.t(f"作成：{event_date()}　配付先：指定職員{R.randint(3, 12)}名\n")
    d.t(R.choice(["本文書の複製・持出しを禁ずる。", "閲覧後は速やかに返却すること。", "詳細は別紙（番号管理）参照。"]))
    return "marked_document", 3, d


def gen_memo(i: int) -> tuple[str, int, Doc]:
    """Internal memos with ordinary words that look like markings, or with markings but no PII."""
    d = Doc()
    k = R.randint(0, 3)
    if k == 0:
        d.t(f"秘書課長あて\n{event_date()}の来客対応について、応接室の予約をお願いします。（{R.choice(DEPTS)}）")
        return "internal_memo", 1, d
    if k == 1:
        d.t(f"{R.choice(MARK2)}\n職員向け説明資料（案）\n来年度の勤務制度見直しについて、組合との協議前の素案です。")
        return "internal_memo", 2, d
    if k == 2:
        d.t(f"回覧：{event_date()}に庁内一斉清掃を実施します。各課で参加者を取りまとめてください。"
            f"\n連絡先：総務課 内線{R.randint(2000, 4999)}")
        return "internal_memo", 1, d
    d.t("職員の健康診断結果（要再検査者）\n氏名（所属）　生年月日\n")
    for _ in range(R.randint(2, 3)):
        person(d, "kanji")
        d.t(f"（{R.choice(DEPTS)}）　")
        d.e("BIRTH_DATE", birth_date())
        d.t("\n")
    d.t("取扱注意")
    return "internal_memo", 2, d


def gen_deliberation(i: int) -> tuple[str, int, Doc]:
    """Internal deliberations: class 2 by content (unpublished plans), often with project code names."""
    d = Doc()
    d.t(R.choice(["【検討メモ】", "内部検討資料", "論点整理（案）", "部内協議用"]) + "\n")
    if R.random() < 0.6:
        d.e("CUSTOM", R.choice(CUSTOM_TERMS))
        d.t(R.choice(["の今後の進め方", "に係る論点", "の体制案", "の予算規模"]) + "\n")
    d.t(R.choice([
        f"・案1：対象を{R.randint(2, 9)}区に限定（概算{R.randint(1, 9)}.{R.randint(1, 9)}億円）\n・案2：全市展開（概算{R.randint(10, 30)}億円）\n",
        f"・現行制度の課題：申請件数が前年比{R.randint(10, 60)}％増、処理期間が平均{R.randint(10, 40)}日\n",
        f"・関係課ヒアリング結果は資料3（p.{R.randint(2, 6)}-{R.randint(7, 15)}）参照\n",
    ]))
    d.t(R.choice(["公表前のため、外部への説明は控えること。", "方針決定前の素案であり、未定稿。",
                  "首長への説明前。取扱いに注意。", "議会説明までは庁内関係課のみで共有。"]))
    if R.random() < 0.25:
        d.t(f"\n参照：令和{R.randint(2, 6)}年法律第{R.randint(10, 150)}号、文書番号 {invalid_twelve()}")
    return "deliberation", 2, d


PLAN = [  # (builder, count)
    (gen_inquiry, 42), (gen_application, 44), (gen_minutes, 24), (gen_decision, 18), (gen_procurement, 16),
    (gen_deliberation, 16), (gen_notice, 30), (gen_press, 18), (gen_chat, 48), (gen_marked3, 14),
    (gen_memo, 16),
]


def main() -> None:
    out = ["# Generated from templates by generate.py (seed 20261122). Do not edit by hand; edit generate.py.\n"]
    n = 0
    for builder, count in PLAN:
        for i in range(count):
            genre, cls, doc = builder(i)
            n += 1
            out.append(f"## doc: g-{genre}-{i + 1:03d} | genre: {genre} | class: {cls}\n{doc.render()}\n")
    OUT.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {n} documents to {OUT}")


if __name__ == "__main__":
    main()
