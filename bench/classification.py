"""Accuracy and speed of gennai's classification detector on a labelled corpus of Japanese
administrative texts, side by side with Microsoft Presidio (GiNZA NER + pattern recognizers).

    .venv/bin/python bench/classification.py --quick        # Presidio on a subset (~3-4 min)
    .venv/bin/python bench/classification.py                # full corpus for both (~10 min)
    .venv/bin/python bench/classification.py --no-append    # print only
    .venv/bin/python bench/classification.py --no-presidio --split dev --no-append   # tune on the dev half

--split dev|test|all scores one deterministic half of the corpus (sha256(id) mod 2, see split_of):
tune the detector on dev only and report test.  --split fresh scores only the held-out set
source/60_heldout_fresh.md (ids h-fresh-*), written blind after the detector was frozen; dev and
test leave it out, all includes it.  --split final scores only source/70_heldout_final.md (ids
h-final-*), the final held-out set written blind and scored once; dev, test and fresh leave it out,
all includes it.  --split blind3 scores only source/80_heldout_blind3.md (ids h-blind3-*), a third
held-out set written blind and scored once; dev, test, fresh and final leave it out, all includes it.
--split blind4 / blind5 / blind6 score only source/90_heldout_blind4.md / 95_heldout_blind5.md /
97_heldout_blind6.md (ids h-blind4-* …), the later blind held-out sets, each scored once; dev and test
leave every held-out set (ids h-fresh-, h-final-, h-blind*) out, all includes them.

The corpus is bench/data/classification/corpus.jsonl (rebuild with
bench/data/classification/build.py).  Presidio runs in its own throw-away venv
bench/.venv-presidio as a persistent subprocess (bench/presidio_runner.py); it is created on
first use (`python3 -m venv` + `pip install presidio-analyzer ja-ginza`) unless --no-setup.
Both sides run pinned to the same single CPU, one after the other, in alternating rounds.
The report is printed and appended to docs/benchmarks.md (append only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "classification"
CORPUS = DATA / "corpus.jsonl"
CUSTOM = DATA / "custom_terms.json"
PVENV = ROOT / "bench" / ".venv-presidio"
RUNNER = ROOT / "bench" / "presidio_runner.py"
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
FRESH_PREFIX = "h-fresh-"  # held-out set written blind after the detector was frozen (--split fresh)
FINAL_PREFIX = "h-final-"  # final held-out set, written blind and scored once (--split final)
# Later sets written blind, each scored alone once when new (--split NAME) and a development set
# after that: split name → (id prefix, source file, ordinal in the report).
BLIND_SETS = {
    "blind3": ("h-blind3-", "80_heldout_blind3.md", "third"),
    "blind4": ("h-blind4-", "90_heldout_blind4.md", "fourth"),
    "blind5": ("h-blind5-", "95_heldout_blind5.md", "fifth"),
    "blind6": ("h-blind6-", "97_heldout_blind6.md", "sixth"),
    "blind7": ("h-blind7-", "98_heldout_blind7.md", "seventh"),
    "blind8": ("h-blind8-", "99_heldout_blind8.md", "eighth"),
    "blind9": ("h-blind9-", "99b_heldout_blind9.md", "ninth"),
    "blind10": ("h-blind10-", "99c_heldout_blind10.md", "tenth"),
    "blind11": ("h-blind11-", "99d_heldout_blind11.md", "eleventh"),
    "blind12": ("h-blind12-", "99e_heldout_blind12.md", "twelfth"),
    "blind13": ("h-blind13-", "99f_heldout_blind13.md", "thirteenth"),
    "blind14": ("h-blind14-", "99g_heldout_blind14.md", "fourteenth"),
    "blind15": ("h-blind15-", "99h_heldout_blind15.md", "fifteenth"),
    "blind16": ("h-blind16-", "99i_heldout_blind16.md", "sixteenth"),
    "blind17": ("h-blind17-", "99j_heldout_blind17.md", "seventeenth"),
    "blind18": ("h-blind18-", "99k_heldout_blind18.md", "eighteenth"),
    "blind19": ("h-blind19-", "99l_heldout_blind19.md", "nineteenth"),
    "blind20": ("h-blind20-", "99m_heldout_blind20.md", "twentieth"),
    "blind21": ("h-blind21-", "99n_heldout_blind21.md", "twenty-first"),
    "blind22": ("h-blind22-", "99o_heldout_blind22.md", "twenty-second"),
    "blind23": ("h-blind23-", "99p_heldout_blind23.md", "twenty-third"),
    "blind24": ("h-blind24-", "99q_heldout_blind24.md", "twenty-fourth"),
    "blind25": ("h-blind25-", "99r_heldout_blind25.md", "twenty-fifth"),
    "blind26": ("h-blind26-", "99s_heldout_blind26.md", "twenty-sixth"),
    "blind27": ("h-blind27-", "99t_heldout_blind27.md", "twenty-seventh"),
    "blind28": ("h-blind28-", "99u_heldout_blind28.md", "twenty-eighth"),
    "blind29": ("h-blind29-", "99v_heldout_blind29.md", "twenty-ninth"),
    "blind30": ("h-blind30-", "99w_heldout_blind30.md", "thirtieth"),
    "blind31": ("h-blind31-", "99x_heldout_blind31.md", "thirty-first"),
    "blind32": ("h-blind32-", "99y_heldout_blind32.md", "thirty-second"),
    "blind33": ("h-blind33-", "99z_heldout_blind33.md", "thirty-third"),
    "blind34": ("h-blind34-", "99zz_heldout_blind34.md", "thirty-fourth"),
    "blind35": ("h-blind35-", "99zza_heldout_blind35.md", "thirty-fifth"),
    "blind36": ("h-blind36-", "99zzb_heldout_blind36.md", "thirty-sixth"),
}
HELD_OUT = (FRESH_PREFIX, FINAL_PREFIX, "h-blind")  # never in dev or test

TYPES = ("MY_NUMBER", "CORPORATE_NUMBER", "PHONE", "POSTAL_CODE", "EMAIL", "PASSPORT", "DRIVERS_LICENSE",
         "BANK_ACCOUNT", "BIRTH_DATE", "PERSON", "ADDRESS", "CUSTOM")
ALIASES = {"PHONE_NUMBER": "PHONE", "POSTAL": "POSTAL_CODE", "ZIP_CODE": "POSTAL_CODE", "EMAIL_ADDRESS": "EMAIL",
           "DRIVER_LICENSE": "DRIVERS_LICENSE", "DRIVERS_LICENCE": "DRIVERS_LICENSE", "BANK": "BANK_ACCOUNT",
           "DATE_OF_BIRTH": "BIRTH_DATE", "NAME": "PERSON", "PERSON_NAME": "PERSON", "LOCATION": "ADDRESS"}


# ------------------------------------------------------------------------------------------
# metrics

def prf(tp: int, npred: int, ngold: int) -> tuple[float, float, float]:
    p = tp / npred if npred else (1.0 if ngold == 0 else 0.0)
    r = tp / ngold if ngold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def overlap_matches(golds: list[tuple[int, int]], preds: list[tuple[int, int]]) -> int:
    """One-to-one greedy matching of overlapping spans (same type)."""
    used = set()
    n = 0
    for ps, pe in sorted(preds):
        for i, (gs, ge) in enumerate(golds):
            if i not in used and ps < ge and gs < pe:
                used.add(i)
                n += 1
                break
    return n


def score_entities(docs: list[dict], preds: dict[str, dict]) -> dict:
    per = {t: Counter() for t in TYPES}
    errors = defaultdict(list)
    for d in docs:
        p = preds[d["id"]]
        for t in TYPES:
            g = [(e["start"], e["end"]) for e in d["entities"] if e["type"] == t]
            q = [(e["start"], e["end"]) for e in p["entities"] if e["type"] == t]
            gs, qs = set(g), set(q)
            c = per[t]
            c["gold"] += len(g)
            c["pred"] += len(q)
            c["tp"] += len(gs & qs)
            c["tp_overlap"] += overlap_matches(g, q)
            for s, e in sorted(gs - qs):
                errors[t].append(("FN", d["id"], d["text"][s:e], _ctx(d["text"], s, e)))
            for s, e in sorted(qs - gs):
                errors[t].append(("FP", d["id"], d["text"][s:e], _ctx(d["text"], s, e)))
    out = {}
    tot = Counter()
    for t in TYPES:
        c = per[t]
        tot.update(c)
        out[t] = {"gold": c["gold"], "pred": c["pred"], "exact": prf(c["tp"], c["pred"], c["gold"]),
                  "overlap": prf(c["tp_overlap"], c["pred"], c["gold"])}
    out["_micro"] = {"gold": tot["gold"], "pred": tot["pred"], "exact": prf(tot["tp"], tot["pred"], tot["gold"]),
                     "overlap": prf(tot["tp_overlap"], tot["pred"], tot["gold"])}
    out["_errors"] = errors
    return out


def _ctx(text: str, s: int, e: int, w: int = 12) -> str:
    return (text[max(0, s - w):s] + "⟦" + text[s:e] + "⟧" + text[e:e + w]).replace("\n", "⏎")


def score_classes(docs: list[dict], preds: dict[str, dict]) -> dict:
    conf = Counter()
    for d in docs:
        conf[(d["class"], preds[d["id"]]["class"])] += 1
    n = len(docs)
    acc = sum(v for (g, p), v in conf.items() if g == p) / n if n else 0.0
    g2 = sum(v for (g, p), v in conf.items() if g >= 2)
    p2 = sum(v for (g, p), v in conf.items() if p >= 2)
    tp2 = sum(v for (g, p), v in conf.items() if g >= 2 and p >= 2)
    g3 = sum(v for (g, p), v in conf.items() if g == 3)
    tp3 = sum(v for (g, p), v in conf.items() if g == 3 and p == 3)
    missed = [d["id"] for d in docs if d["class"] >= 2 and preds[d["id"]]["class"] < 2]
    over = [d["id"] for d in docs if d["class"] == 1 and preds[d["id"]]["class"] >= 2]
    return {"n": n, "accuracy": acc, "c2_recall": tp2 / g2 if g2 else 1.0, "c2_precision": tp2 / p2 if p2 else 1.0,
            "c3_recall": tp3 / g3 if g3 else 1.0, "confusion": conf, "missed": missed, "over": over,
            "g3": g3, "g2": g2}


# ------------------------------------------------------------------------------------------
# gennai side

class Gennai:
    def __init__(self, custom_cfg: dict) -> None:
        import gennai.policy.detection as det  # noqa: PLC0415

        self.det = det
        self.custom = self._custom_rules(det, custom_cfg)
        self.detect = det.detect
        try:
            from importlib.metadata import version
            self.version = version("gennai")
        except Exception:  # noqa: BLE001
            self.version = "?"

    @staticmethod
    def _custom_rules(det, cfg: dict):
        CR = det.CustomRules
        terms, cls = cfg["terms"], int(cfg.get("class", 2))
        if hasattr(CR, "from_mapping"):
            return CR.from_mapping({"terms": terms, "default_class": cls})
        if hasattr(CR, "from_lists"):
            return CR.from_lists(terms=terms, default_class=cls)
        return CR(terms=terms, patterns=[], class_=cls)

    def wording_model(self) -> str:
        """What the detector's wording model was trained on (its training documents score
        as training data, not as held-out data)."""
        try:
            from gennai.policy.detection.wording import shipped_model  # noqa: PLC0415
        except ImportError:
            return "none (this gennai has no wording model)"
        about = shipped_model().about
        return f"trained on {about.get('trained_on', '?')} at {about.get('commit', '?')}; documents it was trained on score as training data"

    def predict(self, text: str) -> dict:
        r = self.detect(text, custom=self.custom)
        ents = []
        for e in r.entities:
            t = getattr(e.type, "value", e.type)
            t = ALIASES.get(str(t).upper(), str(t).upper())
            ents.append({"type": t, "start": e.start, "end": e.end})
        return {"entities": ents, "class": int(r.proposed_class)}

    def throughput(self, texts: list[str]) -> float:
        d, c = self.detect, self.custom
        t0 = time.perf_counter()
        for t in texts:
            d(t, custom=c)
        return time.perf_counter() - t0

    def latency(self, texts: list[str], n: int) -> list[float]:
        d, c, ms = self.detect, self.custom, []
        for i in range(n):
            t = texts[i % len(texts)]
            t0 = time.perf_counter()
            d(t, custom=c)
            ms.append((time.perf_counter() - t0) * 1000)
        return ms


# ------------------------------------------------------------------------------------------
# Presidio side (subprocess in its own venv)

def ensure_presidio_venv(setup: bool) -> Path | None:
    py = PVENV / "bin" / "python"
    if py.exists():
        return py
    if not setup:
        return None
    print("creating bench/.venv-presidio (presidio-analyzer, ja-ginza) ...", flush=True)
    subprocess.run(["python3", "-m", "venv", str(PVENV)], check=True)
    subprocess.run([str(PVENV / "bin" / "pip"), "install", "-q", "presidio-analyzer", "ja-ginza"], check=True)
    return py


class Presidio:
    def __init__(self, py: Path, terms: list[str], cpu: int | None) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   TOKENIZERS_PARALLELISM="false", PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen([str(py), str(RUNNER), json.dumps(terms, ensure_ascii=False)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     encoding="utf-8",
                                     preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None)
        hello = json.loads(self.proc.stdout.readline())
        self.versions = hello["versions"]

    def _call(self, msg: dict) -> dict:
        self.proc.stdin.write(json.dumps(msg, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("presidio runner died")
        return json.loads(line)

    def predict_many(self, texts: list[str]) -> list[dict]:
        return self._call({"cmd": "predict", "texts": texts})["preds"]

    def throughput(self, texts: list[str]) -> float:
        return self._call({"cmd": "throughput", "texts": texts})["seconds"]

    def latency(self, texts: list[str], n: int) -> list[float]:
        return self._call({"cmd": "latency", "texts": texts, "n": n})["ms"]

    def close(self) -> None:
        try:
            self.proc.stdin.write('{"cmd": "quit"}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.proc.kill()


# ------------------------------------------------------------------------------------------

def texts_of_length(docs: list[dict], length: int, count: int, seed: int = 7) -> list[str]:
    import random
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        parts, n = [], 0
        while n < length:
            t = rnd.choice(docs)["text"]
            parts.append(t)
            n += len(t) + 1
        out.append("\n".join(parts)[:length])
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[k]


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def split_of(doc_id: str) -> str:
    """Deterministic half of the corpus a document belongs to: "dev" (tune on it) or "test" (report only)."""
    return "dev" if int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


def select_split(docs: list[dict], split: str) -> list[dict]:
    """The documents of one half ("dev", "test"; without the held-out sets), the fresh held-out set
    ("fresh"), the final held-out set ("final"), one of the later blind sets (BLIND_SETS) or all of them
    ("all")."""
    if split == "all":
        return docs
    if split == "fresh":
        return [d for d in docs if d["id"].startswith(FRESH_PREFIX)]
    if split == "final":
        return [d for d in docs if d["id"].startswith(FINAL_PREFIX)]
    if split in BLIND_SETS:
        return [d for d in docs if d["id"].startswith(BLIND_SETS[split][0])]
    return [d for d in docs if not d["id"].startswith(HELD_OUT)
            and split_of(d["id"]) == split]


def f3(x: float) -> str:
    return f"{x:.3f}"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="Presidio on a subset, fewer rounds and calls")
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to docs/benchmarks.md")
    ap.add_argument("--no-presidio", action="store_true", help="skip the Presidio side")
    ap.add_argument("--no-setup", action="store_true", help="do not create bench/.venv-presidio if missing")
    ap.add_argument("--presidio-docs", type=int, default=None, help="documents for Presidio's accuracy run")
    ap.add_argument("--errors", type=int, default=6, help="error examples printed per type (console only)")
    ap.add_argument("--note", default=None, help="a line of free text added to the report (e.g. what changed)")
    ap.add_argument("--split", choices=("dev", "test", "fresh", "final", *BLIND_SETS, "all"), default="all",
                    help="which part of the corpus to score: dev (tune on it), test (report only), fresh (the "
                         "h-fresh-* held-out set written blind, report only), final (the h-final-* held-out set "
                         "written blind, scored once), " + " / ".join(BLIND_SETS) + " (the h-blindN-* held-out sets "
                         "written blind, each scored once) or all; dev/test split by sha256(id) mod 2 (see "
                         "split_of()) and exclude the held-out sets")
    args = ap.parse_args()

    quick = args.quick
    rounds = 2 if quick else 3
    g_lat_n = 300 if quick else 1000
    p_lat_n = 12 if quick else 40
    p_docs_n = args.presidio_docs or (120 if quick else None)

    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} missing: run .venv/bin/python bench/data/classification/build.py")
    docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = select_split(docs, args.split)
    custom_cfg = json.loads(CUSTOM.read_text(encoding="utf-8"))
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1]
    os.sched_setaffinity(0, {cpu})
    started = time.time()

    # ---- gennai
    gennai = None
    gennai_error = None
    try:
        gennai = Gennai(custom_cfg)
    except Exception as exc:  # noqa: BLE001
        gennai_error = f"{type(exc).__name__}: {exc}"
        print(f"gennai detector not available ({gennai_error})", flush=True)

    # ---- Presidio
    presidio = None
    presidio_error = None
    if not args.no_presidio:
        try:
            py = ensure_presidio_venv(not args.no_setup)
            if py is None:
                presidio_error = "bench/.venv-presidio missing (--no-setup)"
            else:
                print("starting Presidio (spaCy ja_ginza) ...", flush=True)
                presidio = Presidio(py, custom_cfg["terms"], cpu)
        except Exception as exc:  # noqa: BLE001
            presidio_error = f"{type(exc).__name__}: {exc}"
        if presidio_error:
            print(f"Presidio not available ({presidio_error})", flush=True)

    # subset for Presidio: every k-th document (keeps the genre/class mix)
    if p_docs_n and p_docs_n < len(docs):
        step = len(docs) / p_docs_n
        p_docs = [docs[int(i * step)] for i in range(p_docs_n)]
    else:
        p_docs = docs

    # ---- accuracy
    res: dict = {}
    if gennai:
        t0 = time.perf_counter()
        gp = {d["id"]: gennai.predict(d["text"]) for d in docs}
        res["gennai"] = {"preds": gp, "ent": score_entities(docs, gp), "cls": score_classes(docs, gp),
                         "ent_sub": score_entities(p_docs, gp), "cls_sub": score_classes(p_docs, gp),
                         "seconds": time.perf_counter() - t0}
        unknown = Counter(e["type"] for p in gp.values() for e in p["entities"] if e["type"] not in TYPES)
        if unknown:
            print(f"note: gennai entity types outside the corpus's set (ignored in scoring): {dict(unknown)}")
    if presidio:
        print(f"Presidio accuracy run on {len(p_docs)} documents ...", flush=True)
        pp_list = presidio.predict_many([d["text"] for d in p_docs])
        pp = {d["id"]: p for d, p in zip(p_docs, pp_list)}
        res["presidio"] = {"preds": pp, "ent": score_entities(p_docs, pp), "cls": score_classes(p_docs, pp)}

    # ---- speed (alternating rounds, same CPU)
    corpus_texts = [d["text"] for d in docs]
    corpus_chars = sum(map(len, corpus_texts))
    p_speed_texts = corpus_texts if not quick else [d["text"] for d in p_docs]
    p_speed_chars = sum(map(len, p_speed_texts))
    lat_texts = texts_of_length(docs, 2000, 50)
    speed = {"gennai": {"cps": [], "ms": []}, "presidio": {"cps": [], "ms": []}}
    if gennai:
        gennai.throughput(corpus_texts)  # warm-up
        gennai.latency(lat_texts, 20)
    reps = 5  # gennai: corpus passes per throughput measurement
    for r in range(rounds):
        order = ["gennai", "presidio"] if r % 2 == 0 else ["presidio", "gennai"]
        for side in order:
            if side == "gennai" and gennai:
                s = gennai.throughput(corpus_texts * reps)
                speed["gennai"]["cps"].append(corpus_chars * reps / s)
                speed["gennai"]["ms"] += gennai.latency(lat_texts, g_lat_n // rounds)
            elif side == "presidio" and presidio:
                print(f"Presidio speed round {r + 1}/{rounds} ...", flush=True)
                s = presidio.throughput(p_speed_texts)
                speed["presidio"]["cps"].append(p_speed_chars / s)
                speed["presidio"]["ms"] += presidio.latency(lat_texts, max(1, p_lat_n // rounds))
    pversions = presidio.versions if presidio else {}
    if presidio:
        presidio.close()
    elapsed = time.time() - started

    report = render(args, docs, p_docs, res, speed, gennai, gennai_error, presidio_error, pversions, corpus_chars,
                    p_speed_chars, rounds, cpu, elapsed)
    print()
    print(report)
    if gennai:
        print_errors(res["gennai"], docs, args.errors)
    save(res, speed)
    if not args.no_append:
        with DOCS.open("a", encoding="utf-8") as f:
            f.write("\n\n" + report.rstrip() + "\n")
        print(f"\nappended to {DOCS.relative_to(ROOT)}")


def render(args, docs, p_docs, res, speed, gennai, gennai_error, presidio_error, pversions, corpus_chars,
           p_speed_chars, rounds, cpu, elapsed) -> str:
    today = dt.date.today().isoformat()
    mode = "quick" if args.quick else "full"
    cmd = ".venv/bin/python bench/classification.py" + "".join(
        f" {a}" for a in sys.argv[1:])
    cls = Counter(d["class"] for d in docs)
    ents = Counter(e["type"] for d in docs for e in d["entities"])
    genres = Counter(d["genre"] for d in docs)
    L = []
    L.append(f"## {today} — classification detector: accuracy and speed, gennai vs Presidio ({mode})")
    L.append("")
    L.append(f"- command: `{cmd}`")
    L.append(f"- machine: {machine()}; one core (both sides pinned to CPU {cpu}, run one after the other, "
             f"{rounds} alternating rounds); load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
             " (the machine is shared)")
    L.append(f"- git commit: {git_commit()}; gennai {gennai.version if gennai else 'n/a'}; "
             + (", ".join(f"{k} {v}" for k, v in pversions.items()) if pversions else "Presidio n/a"))
    if gennai is not None:
        L.append(f"- wording model: {gennai.wording_model()}")
    split = {"all": "", "dev": " (dev half: sha256(id) mod 2 = 0)", "test": " (test half: sha256(id) mod 2 = 1)",
             "fresh": f" (fresh held-out set: ids {FRESH_PREFIX}*)",
             "final": f" (final held-out set: ids {FINAL_PREFIX}*)",
             **{name: f" ({ordinal} blind held-out set: ids {prefix}*)" for name, (prefix, _, ordinal) in BLIND_SETS.items()},
             }[getattr(args, "split", "all")]
    L.append(f"- corpus: `bench/data/classification/corpus.jsonl`{split}, {len(docs)} documents, {corpus_chars:,} characters "
             f"(class 1/2/3: {cls[1]}/{cls[2]}/{cls[3]}), {sum(ents.values())} labelled entities; genres: "
             + ", ".join(f"{g} {n}" for g, n in genres.most_common()))
    if p_docs is not docs:
        L.append(f"- Presidio accuracy and throughput on a subset of {len(p_docs)} documents (every "
                 f"{len(docs) / len(p_docs):.1f}th, {p_speed_chars:,} characters); gennai on all {len(docs)} "
                 "(and, for comparison, on the same subset)")
    L.append("- matching: exact span and type (targets are judged on exact spans); 'overlap' counts a prediction that "
             "overlaps a gold entity of the same type (one-to-one)")
    if getattr(args, "split", "all") == "test":
        L.append("- held-out half: the detector's rules were tuned by looking at errors on the dev half only "
                 "(`--split dev`); the test half is only ever scored, never inspected")
    if getattr(args, "split", "all") == "fresh":
        L.append("- fresh held-out set: `source/60_heldout_fresh.md`, written blind after the detector was frozen "
                 "(its authors never saw the detector's code or results); only ever scored, never tuned on")
    if getattr(args, "split", "all") == "final":
        L.append("- final held-out set: `source/70_heldout_final.md`, written blind (its author never saw the "
                 "detector's code, its results or the other held-out sets) and scored once, for the final "
                 "measurement; never tuned on")
    if getattr(args, "split", "all") in BLIND_SETS:
        _, source, ordinal = BLIND_SETS[args.split]
        L.append(f"- {ordinal} held-out set written blind; scored once: `source/{source}` (its author never "
                 "saw the detector's code, its results or the other held-out sets); never tuned on")
    if getattr(args, "note", None):
        L.append(f"- note: {args.note}")
    L.append(f"- wall time {elapsed:.0f} s")
    if gennai_error:
        L.append(f"- **gennai detector not available**: {gennai_error}")
    if presidio_error:
        L.append(f"- Presidio not run: {presidio_error}")
    L.append("")

    g = res.get("gennai")
    p = res.get("presidio")
    gs, ps = speed["gennai"], speed["presidio"]
    g_cps = statistics.median(gs["cps"]) if gs["cps"] else None
    p_cps = statistics.median(ps["cps"]) if ps["cps"] else None
    g_p95 = pct(gs["ms"], 0.95) if gs["ms"] else None
    p_p95 = pct(ps["ms"], 0.95) if ps["ms"] else None

    def e(side, t, k="exact"):
        return side["ent"][t][k] if side else None

    # ---- summary vs targets
    L.append("### Targets (gennai, " + {"all": "whole corpus", "dev": "dev half", "test": "test half",
                                             "fresh": "fresh held-out set",
                                             "final": "final held-out set",
                                             **{name: f"{ordinal} blind held-out set"
                                                for name, (_, _, ordinal) in BLIND_SETS.items()},
                                             }[getattr(args, "split", "all")]
             + ")")
    L.append("")
    L.append("| target | gennai | Presidio | verdict |")
    L.append("|---|--:|--:|---|")

    def row(name, gv, pv, ok):
        L.append(f"| {name} | {gv if gv is not None else 'n/a'} | {pv if pv is not None else 'n/a'} | {verdict(ok)} |")

    for t in ("MY_NUMBER", "CORPORATE_NUMBER"):
        gv, pv = e(g, t), e(p, t)
        row(f"{t} recall ≥ 0.99 / precision ≥ 0.98", gv and f"R {f3(gv[1])} / P {f3(gv[0])}",
            pv and f"R {f3(pv[1])} / P {f3(pv[0])}", gv and (gv[1] >= 0.99 and gv[0] >= 0.98))
    for t in ("PHONE", "POSTAL_CODE", "EMAIL"):
        gv, pv = e(g, t), e(p, t)
        row(f"{t} F1 ≥ 0.97", gv and f3(gv[2]), pv and f3(pv[2]), gv and gv[2] >= 0.97)
    gv, pv = e(g, "PERSON"), e(p, "PERSON")
    row("PERSON recall ≥ 0.90", gv and f3(gv[1]), pv and f3(pv[1]), gv and gv[1] >= 0.90)
    gm = g and g["ent"]["_micro"]["exact"]
    pm = p and p["ent"]["_micro"]["exact"]
    row("overall entity micro F1 ≥ 0.95", gm and f3(gm[2]), pm and f3(pm[2]), gm and gm[2] >= 0.95)
    gc = g and g["cls"]
    pc = p and p["cls"]
    row("class ≥ 2 recall (gold ≥ 2 → predicted ≥ 2) ≥ 0.98", gc and f3(gc["c2_recall"]), pc and f3(pc["c2_recall"]),
        gc and gc["c2_recall"] >= 0.98)
    row("class ≥ 2 precision ≥ 0.90", gc and f3(gc["c2_precision"]), pc and f3(pc["c2_precision"]),
        gc and gc["c2_precision"] >= 0.90)
    row("p95 latency, 2,000-character text ≤ 10 ms", g_p95 and f"{g_p95:.2f} ms", p_p95 and f"{p_p95:,.0f} ms",
        None if g_p95 is None else g_p95 <= 10)
    row("characters per second, one core ≥ 300,000", g_cps and f"{g_cps:,.0f}", p_cps and f"{p_cps:,.0f}",
        None if g_cps is None else g_cps >= 300_000)
    ratio = g_cps / p_cps if g_cps and p_cps else None
    row("speed ≥ 150× Presidio's (characters per second)", ratio and f"{ratio:,.0f}×", "1×",
        None if ratio is None else ratio >= 150)
    L.append("")
    L.append("Not targets, for context: "
             + (f"document-class accuracy gennai {f3(gc['accuracy'])}, class-3 recall {f3(gc['c3_recall'])} "
                f"({round(gc['c3_recall'] * gc['g3'])}/{gc['g3']}); " if gc else "")
             + (f"Presidio accuracy {f3(pc['accuracy'])}, class-3 recall {f3(pc['c3_recall'])} (it has no notion of "
                "markings). " if pc else "")
             + (f"Overlap-match micro F1: gennai {f3(g['ent']['_micro']['overlap'][2])}" if g else "")
             + (f", Presidio {f3(p['ent']['_micro']['overlap'][2])}." if p else "."))
    if g and p and p_docs is not docs:
        L.append(f"On Presidio's {len(p_docs)}-document subset gennai has micro F1 "
                 f"{f3(g['ent_sub']['_micro']['exact'][2])} (exact) / {f3(g['ent_sub']['_micro']['overlap'][2])} "
                 f"(overlap), class accuracy {f3(g['cls_sub']['accuracy'])}, class ≥ 2 recall "
                 f"{f3(g['cls_sub']['c2_recall'])} and precision {f3(g['cls_sub']['c2_precision'])}.")
    L.append("")

    # ---- per type
    L.append("### Entities per type (exact span; overlap F1 in brackets)")
    L.append("")
    L.append("| type | gold | gennai P | gennai R | gennai F1 | Presidio gold | Presidio P | Presidio R | Presidio F1 |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for t in (*TYPES, "_micro"):
        name = "**micro, all types**" if t == "_micro" else t
        gr = g["ent"][t] if g else None
        pr = p["ent"][t] if p else None
        gcol = (f"{gr['gold']} | {f3(gr['exact'][0])} | {f3(gr['exact'][1])} | {f3(gr['exact'][2])} "
                f"({f3(gr['overlap'][2])})") if gr else "n/a | | |"
        pcol = (f"{pr['gold']} | {f3(pr['exact'][0])} | {f3(pr['exact'][1])} | {f3(pr['exact'][2])} "
                f"({f3(pr['overlap'][2])})") if pr else "n/a | | |"
        L.append(f"| {name} | {gcol} | {pcol} |")
    L.append("")

    # ---- document classes
    L.append("### Document class (rows: gold, columns: predicted)")
    L.append("")
    L.append("| gold \\ predicted | " + " | ".join(
        f"{s} {k}" for s in (["gennai"] if g else []) + (["Presidio"] if p else []) for k in (1, 2, 3)) + " |")
    L.append("|---|" + "--:|" * (3 * ((1 if g else 0) + (1 if p else 0))))
    for gold in (1, 2, 3):
        cells = []
        for side in [x for x in (g, p) if x]:
            cells += [str(side["cls"]["confusion"].get((gold, k), 0)) for k in (1, 2, 3)]
        L.append(f"| {gold} | " + " | ".join(cells) + " |")
    if g:
        L.append("")
        L.append(f"gennai: class ≥ 2 documents predicted 1 ({len(g['cls']['missed'])}): "
                 + (", ".join(g["cls"]["missed"][:30]) or "none")
                 + f"; class-1 documents predicted ≥ 2 ({len(g['cls']['over'])}): "
                 + (", ".join(g["cls"]["over"][:30]) or "none") + ".")
    L.append("")

    # ---- speed
    L.append("### Speed (one core)")
    L.append("")
    L.append("| side | chars/s per round | chars/s (median) | best round | 2,000-char calls | p50 ms | p95 ms | max ms |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|")
    for name, s in (("gennai", gs), ("Presidio", ps)):
        if s["cps"]:
            L.append(f"| {name} | {', '.join(f'{x:,.0f}' for x in s['cps'])} | {statistics.median(s['cps']):,.0f} | "
                     f"{max(s['cps']):,.0f} | {len(s['ms'])} | {pct(s['ms'], .5):.2f} | {pct(s['ms'], .95):.2f} | {max(s['ms']):.2f} |")
    L.append("")
    L.append(f"Throughput: gennai over the whole corpus ({corpus_chars:,} characters, 5 passes per round, one call per "
             f"document), Presidio over {'the same subset as its accuracy run' if p_docs is not docs else 'the whole corpus'}"
             f" ({p_speed_chars:,} characters, one pass per round). Latency: 50 texts of exactly 2,000 characters made "
             "by concatenating corpus documents, called in turn after a warm-up. Targets use the median round; the "
             "machine is shared, so compare the load average above.")
    if g and p:
        L.append("")
        L.append("Presidio set-up: AnalyzerEngine, spaCy NLP engine for `ja` with `ja_ginza` (GiNZA NER: Person → "
                 "PERSON; Province/City/County/GPE/Location/Postal_Address → ADDRESS), PatternRecognizers with "
                 "context words for every identifier type (My Number and corporate number validated by their check "
                 "digits), a pattern recognizer for the custom terms, score threshold 0.4; document class 2 when any "
                 "personal-data entity is found, else 1 (no markings). See `bench/presidio_runner.py`.")
    return "\n".join(L)


def print_errors(g: dict, docs, k: int) -> None:
    errs = g["ent"]["_errors"]
    print("\n--- gennai errors (exact-span; console only) ---")
    for t in TYPES:
        if not errs.get(t):
            continue
        fn = [x for x in errs[t] if x[0] == "FN"]
        fp = [x for x in errs[t] if x[0] == "FP"]
        print(f"{t}: {len(fn)} FN, {len(fp)} FP")
        for x in fn[:k] + fp[:k]:
            print(f"   {x[0]} {x[1]}: {x[3]}")


def save(res: dict, speed: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"classification-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out = {"speed": speed}
    for side, r in res.items():
        out[side] = {"preds": r["preds"],
                     "entities": {t: {k: v for k, v in r["ent"][t].items()} for t in (*TYPES, "_micro")},
                     "classes": {k: v for k, v in r["cls"].items() if k != "confusion"},
                     "confusion": {f"{a}->{b}": n for (a, b), n in r["cls"]["confusion"].items()}}
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"predictions and metrics: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
