"""Recurring complaints: group similar ticket texts so the head of care sees the month's top issues.

Two layers:

* :func:`cluster_texts` — pure (it touches no database or setting): texts in, clusters out. Vietnamese text is folded
  (``careline.vn.fold``: accents, đ, case), cleared of a small stop-word list, turned into TF-IDF vectors of
  syllable uni- and bigrams (Vietnamese words are mostly two syllables: "học phí", "hoàn tiền", "hoá đơn")
  and clustered in two stages (see :func:`cluster_texts`). No model download, deterministic.
* :func:`recurring_complaints` — the report over the tickets an actor may see, cached for 10 minutes;
  :func:`cluster_to_category` — turns a cluster into a category with a playbook.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError, ValidationFailed
from careline.core.visibility import Action, require_action
from careline.helpdesk import selectors, services
from careline.helpdesk.choices import MessageDirection, TicketKind, TicketStatus
from careline.helpdesk.models import Message
from careline.vn import fold, nfc

if TYPE_CHECKING:  # numpy/scipy/scikit-learn are imported when clustering runs (they take a second to load)
    import numpy as np
    from scipy.sparse import csr_matrix

# --- text → terms ------------------------------------------------------------------------------------------

# Bigrams never span a clause: punctuation and line breaks cut the text into clauses first.
_CLAUSE_RE = re.compile(r"[.,;:!?…\n\r()\[\]{}\"“”'‘’`/\\|+*=<>~#@&%^$–—-]+")
_WORD_RE = re.compile(r"[^\W\d_]+")  # letters only: numbers (amounts, order numbers, phones) carry no topic

# Function words and forms of address, as typed with diacritics. Only these exact spellings are dropped from
# a text typed with diacritics, so "mã" (code), "da" (skin), "thi" (exam), "chi" (spend), "cửa" (shop),
# "tối" (evening) or "ảnh" (photo) stay meaningful while "mà", "đã", "thì", "chị", "của", "tôi", "anh" go.
_STOP_WORDS_TEXT = """
    tôi tui tớ mình của là và thì mà đã được không chào anh chị em ạ à á ơi nhé nha nhá nhỉ
    xin vui lòng giúp cảm ơn với cho các những một có bị rất quá lắm nữa cũng đang sẽ vẫn bạn chúng ta họ
    ông bà bên ở tại khi nếu nên vì để thế nào gì sao ai này đó kia vậy rồi thôi hay hoặc nhưng như cái
    ra vào lên xuống đi đến lúc từ trong ngoài trên dưới về theo tới mọi luôn đều dạ vâng ừ alo hả hôm nay
    qua mai a chưa còn lại phải lần nhiều muốn cần
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# A text typed without diacritics cannot tell "ma" (mà / mã) apart: its stop list is the folded one, less
# the folded forms that are more often a content word than a function word ("tai" tài khoản, "ve" vé, "moi"
# mới, "qua" quà, "co" cô/cỡ, "dang" đăng ký, "van" tư vấn, "ban" bán, "ho" hồ sơ, "vi" ví, "the" thẻ,
# "vay" váy, "tu" tư vấn, "muon" muộn, "bao" báo/bảo hành, "lam" làm phiền, "chung" chứng chỉ, "thoi" thời
# gian, "con" con tôi).
_AMBIGUOUS_TEXT = "tai ve moi qua co dang van ban ho vi the vay tu muon bao lam chung thoi con"
_AMBIGUOUS_FOLDED = frozenset(_AMBIGUOUS_TEXT.split())
STOP_WORDS_FOLDED = frozenset(fold(w) for w in STOP_WORDS) - _AMBIGUOUS_FOLDED

MIN_WORDS = 2  # texts with fewer content words are ignored
MAX_TEXT_CHARS = 2000  # a long email adds little topic and much noise: only its start is read


@dataclass(frozen=True)
class _Doc:
    """A text cut into clauses of content words: (folded, original lower-case spelling) per word."""

    clauses: tuple[tuple[tuple[str, str], ...], ...]

    @property
    def size(self) -> int:
        return sum(len(c) for c in self.clauses)

    def terms(self) -> list[str]:
        out: list[str] = []
        for clause in self.clauses:
            folded = [f for f, _o in clause]
            out.extend(folded)
            out.extend(f"{a} {b}" for a, b in zip(folded, folded[1:], strict=False))
        return out

    def spellings(self) -> list[tuple[str, str]]:
        """(folded term, original spelling) for every uni- and bigram."""
        out: list[tuple[str, str]] = []
        for clause in self.clauses:
            out.extend(clause)
            out.extend((f"{a[0]} {b[0]}", f"{a[1]} {b[1]}") for a, b in zip(clause, clause[1:], strict=False))
        return out


@lru_cache(maxsize=65536)
def _content_word(word: str, accented: bool) -> str:
    """The folded form of a lower-case word, or "" for a stop word or a single letter (words repeat a lot)."""
    if word in (STOP_WORDS if accented else STOP_WORDS_FOLDED):
        return ""
    folded = fold(word)
    return folded if len(folded) >= 2 else ""


def _analyse(text: str) -> _Doc:
    text = nfc(text[:MAX_TEXT_CHARS]).lower()
    accented = not text.isascii()
    clauses = []
    for part in _CLAUSE_RE.split(text):
        words = []
        for word in _WORD_RE.findall(part):
            folded = _content_word(word, accented)
            if folded:
                words.append((folded, word))
        if words:
            clauses.append(tuple(words))
    return _Doc(tuple(clauses))


def text_terms(text: str) -> list[str]:
    """The folded uni- and bigrams that represent `text` (what the clustering compares)."""
    return _analyse(text).terms()


# --- clustering -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """A group of similar texts: `members` are indices into the input, most typical first."""

    size: int
    terms: list[str]  # display spelling, most weighty first ("hoàn học phí", "hoá đơn")
    folded_terms: list[str]
    examples: list[int]  # up to 3 indices of texts closest to the centroid (distinct texts)
    members: list[int]
    cohesion: float  # mean cosine similarity of the members to the centroid, 0..1


# Stage 1: average-linkage clusters whose texts are, on average, at least this similar (cosine of TF-IDF
# vectors). Conservative: topics may come out in a few parts; stage 2 joins them.
MICRO_SIMILARITY = 0.12
# Stage 2: parts are joined when their signatures (each part's 10 heaviest terms) have at least this cosine
# similarity. Signatures drop the generic sentences ("mong trung tâm phản hồi sớm") that texts of every topic
# share, which otherwise glue different topics together.
SIGNATURE_TERMS = 10
MERGE_SIMILARITY = 0.25
SAMPLE_SIZE = 2000  # stage 1 compares all pairs: above this, it runs on samples and assigns the rest
MAX_ROUNDS = 3
DESCRIBE_MEMBERS = 300  # the words of a group are spelled and phrased from its most typical texts


def cluster_texts(
    texts: Sequence[str],
    *,
    min_cluster_size: int = 3,
    max_clusters: int = 20,
    random_state: int = 0,
) -> list[Cluster]:
    """Group similar texts; the biggest groups first (at most `max_clusters`, each ≥ `min_cluster_size`).

    1. Each text is folded and cut into content words (stop words dropped); its terms are the words and the
       pairs of neighbouring words within a clause. TF-IDF (sublinear tf, terms seen in ≥ 2 texts) with l2
       norm.
    2. Stage 1 — average-linkage agglomerative clustering on cosine distance with a fixed threshold
       (`MICRO_SIMILARITY`): no number of clusters to guess, and unlike k-means a text unlike the others stays
       alone (noise). Above `SAMPLE_SIZE` texts it runs on a random sample (`random_state`); the other texts
       join the part whose centroid they match as well as the linkage demands (the average similarity of a
       text to a group's texts is its dot product with the group's mean); what is left is sampled again, up
       to `MAX_ROUNDS` times.
    3. Stage 2 — parts with similar signatures (`SIGNATURE_TERMS`, `MERGE_SIMILARITY`) are joined.
    4. Groups smaller than `min_cluster_size` are noise. Each group gets its top terms (from its centroid,
       spelled as most often typed, with diacritics when someone typed them), 3 examples closest to the
       centroid and a cohesion score.

    Texts that are empty or too short (fewer than 2 content words) are ignored.
    """
    docs = [_analyse(t or "") for t in texts]
    usable = [i for i, d in enumerate(docs) if d.size >= MIN_WORDS]
    if len(usable) < max(min_cluster_size, 2):
        return []

    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer=lambda doc: doc.terms(),  # type: ignore[attr-defined]
        sublinear_tf=True,
        min_df=2 if len(usable) >= 10 else 1,
        dtype=np.float64,
    )
    try:
        matrix = vectorizer.fit_transform([docs[i] for i in usable])
    except ValueError:  # no term appears in two texts
        return []
    matrix = matrix.tocsr()
    nonzero = np.flatnonzero(matrix.getnnz(axis=1))
    matrix = matrix[nonzero]
    usable = [usable[i] for i in nonzero]
    if len(usable) < max(min_cluster_size, 2):
        return []

    labels = _stage_one(matrix, random_state=random_state)
    labels = _stage_two(matrix, labels)
    vocabulary = vectorizer.get_feature_names_out()
    background = np.asarray(matrix.mean(axis=0)).ravel()
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(labels):
        if label >= 0:
            groups.setdefault(int(label), []).append(row)
    found = [rows for rows in groups.values() if len(rows) >= min_cluster_size]
    found.sort(key=lambda rows: (-len(rows), rows[0]))
    return [
        _describe(
            matrix, rows, usable=usable, docs=docs, texts=texts, vocabulary=vocabulary, background=background
        )
        for rows in found[:max_clusters]
    ]


def _average_linkage(matrix: csr_matrix, similarity: float) -> np.ndarray:
    """Cluster labels of the rows (l2-normalised) cut where the average similarity drops below `similarity`."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    n = matrix.shape[0]
    if n == 1:
        return np.zeros(1, dtype=np.intp)
    distance = 1.0 - (matrix @ matrix.T).toarray()
    np.clip(distance, 0.0, 2.0, out=distance)
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - similarity
    )
    return model.fit(distance).labels_


def _stage_one(matrix: csr_matrix, *, random_state: int) -> np.ndarray:
    """Fine-grained parts (label ≥ 0; -1 for texts alone). Exact below SAMPLE_SIZE, sampled above."""
    import numpy as np

    n = matrix.shape[0]
    labels = np.full(n, -1, dtype=np.intp)
    rng = np.random.default_rng(random_state)
    pending = np.arange(n)
    next_label = 0
    for _round in range(MAX_ROUNDS):
        if len(pending) < 2:
            break
        if len(pending) > SAMPLE_SIZE:
            sample = np.sort(rng.choice(pending, size=SAMPLE_SIZE, replace=False))
        else:
            sample = pending
        local = _average_linkage(matrix[sample], MICRO_SIMILARITY)
        counts = np.bincount(local)
        keep = np.flatnonzero(counts >= 2)  # a text alone is not a part (yet)
        if len(keep) == 0:
            break
        remap = np.full(len(counts), -1, dtype=np.intp)
        remap[keep] = np.arange(next_label, next_label + len(keep))
        labels[sample] = remap[local]
        rest = np.setdiff1d(pending, sample, assume_unique=True)
        if len(rest):
            # Average similarity of a text to a part's texts = its dot product with the part's mean vector.
            centroids = np.vstack([np.asarray(matrix[sample[local == k]].mean(axis=0)).ravel() for k in keep])
            scores = matrix[rest] @ centroids.T
            best = np.asarray(scores.argmax(axis=1)).ravel()
            good = np.asarray(scores.max(axis=1)).ravel() >= MICRO_SIMILARITY
            labels[rest[good]] = next_label + best[good]
        next_label += len(keep)
        if len(sample) == len(pending):
            break  # the whole remainder was just clustered exactly: what is left alone is noise
        pending = np.flatnonzero(labels == -1)
    return labels


def _signature(vector: np.ndarray, size: int) -> np.ndarray:
    import numpy as np

    out = np.zeros_like(vector)
    top = np.argpartition(vector, -size)[-size:] if size < len(vector) else np.arange(len(vector))
    out[top] = vector[top]
    norm = np.linalg.norm(out)
    return out / norm if norm else out


def _stage_two(matrix: csr_matrix, labels: np.ndarray) -> np.ndarray:
    """Join parts whose signatures are similar (average linkage on the signatures)."""
    import numpy as np
    from scipy.sparse import csr_matrix as sparse

    parts = np.unique(labels[labels >= 0])
    if len(parts) < 2:
        return labels
    signatures = np.vstack(
        [_signature(np.asarray(matrix[labels == k].mean(axis=0)).ravel(), SIGNATURE_TERMS) for k in parts]
    )
    joined = _average_linkage(sparse(signatures), MERGE_SIMILARITY)
    remap = np.full(int(parts.max()) + 1, -1, dtype=np.intp)
    remap[parts] = joined
    out = labels.copy()
    out[labels >= 0] = remap[labels[labels >= 0]]
    return out


def _describe(
    matrix: csr_matrix,
    rows: list[int],
    *,
    usable: list[int],
    docs: list[_Doc],
    texts: Sequence[str],
    vocabulary: np.ndarray,
    background: np.ndarray,
) -> Cluster:
    import numpy as np

    block = matrix[rows]
    centroid = np.asarray(block.mean(axis=0)).ravel()
    norm = float(np.linalg.norm(centroid))
    closeness = np.asarray(block @ (centroid / norm if norm else centroid)).ravel()
    order = np.argsort(-closeness, kind="stable")
    members = [usable[rows[i]] for i in order]
    member_docs = [docs[i] for i in members[:DESCRIBE_MEMBERS]]
    # Words that set the group apart: its centroid less the average text ("trung tâm", "ngày" weigh in
    # every group).
    distinct = np.maximum(centroid - background, 0.0)
    folded_terms = _top_terms(distinct if distinct.any() else centroid, vocabulary, member_docs)
    return Cluster(
        size=len(rows),
        terms=_spell(folded_terms, member_docs),
        folded_terms=folded_terms,
        examples=_examples(members, texts),
        members=members,
        cohesion=round(float(closeness.mean()), 4),
    )


def _examples(members: list[int], texts: Sequence[str], *, count: int = 3, pool: int = 10) -> list[int]:
    """`count` distinct texts among the `pool` closest to the centroid, those typed with diacritics first
    (easier to read), then by closeness."""
    candidates: list[int] = []
    seen: set[str] = set()
    for index in members:
        key = fold(texts[index])
        if key not in seen:
            seen.add(key)
            candidates.append(index)
        if len(candidates) == pool:
            break
    candidates.sort(key=lambda i: nfc(texts[i]).isascii())  # stable: closeness within each kind
    return candidates[:count]


def _top_terms(centroid: np.ndarray, vocabulary: np.ndarray, docs: list[_Doc], limit: int = 5) -> list[str]:
    """The heaviest terms of a centroid. A pair hides its own words ("hoc phi" rather than "hoc", "phi"), and
    two pairs that the members mostly write as one phrase are shown as it ("hoan hoc" + "hoc phi" →
    "hoan hoc phi")."""
    import numpy as np

    ranked = [
        str(vocabulary[i]) for i in np.argsort(-centroid, kind="stable")[: limit * 4] if centroid[i] > 0
    ]
    phrases: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for doc in docs:
        for clause in doc.clauses:
            words = [f for f, _o in clause]
            pairs.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
            phrases.update(f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False))
    singles: Counter[str] = Counter(f for doc in docs for clause in doc.clauses for f, _o in clause)
    chosen: list[str] = []
    for term in ranked:
        if " " not in term:
            # a word mostly written inside one pair is shown as that pair ("tam" → "trung tam")
            best = max((p for p in pairs if term in p.split()), key=lambda p: (pairs[p], p), default="")
            if best and 10 * pairs[best] >= 7 * singles[term]:
                term = best
        words = term.split()
        if any(set(words) <= set(c.split()) for c in chosen):
            continue  # already shown (a word of a chosen pair, or a pair inside a chosen phrase)
        if len(words) == 2:
            chosen = [c for c in chosen if not (len(c.split()) == 1 and c in words)]
            for k, c in enumerate(chosen):
                cw = c.split()
                if len(cw) != 2:
                    continue
                if cw[1] == words[0]:
                    phrase = f"{c} {words[1]}"
                elif cw[0] == words[1]:
                    phrase = f"{words[0]} {c}"
                else:
                    continue
                if 2 * phrases[phrase] >= min(pairs[c], pairs[term]):
                    chosen[k] = phrase
                    break
            else:
                chosen.append(term)
        else:
            chosen.append(term)
        if len(chosen) == limit:
            break
    return chosen


def _spell(folded_terms: list[str], docs: list[_Doc]) -> list[str]:
    """The most common typed spelling of each word of each term, preferring spellings with diacritics."""
    words = {w for t in folded_terms for w in t.split()}
    counts: dict[str, Counter[str]] = {w: Counter() for w in words}
    for doc in docs:
        for clause in doc.clauses:
            for folded, original in clause:
                if folded in counts:
                    counts[folded][original] += 1
    out = []
    for term in folded_terms:
        spelled = []
        for word in term.split():
            forms = counts.get(word) or Counter()
            accented = [(n, f) for f, n in forms.items() if not f.isascii()]
            if accented:
                spelled.append(max(accented)[1])
            else:
                spelled.append(word)
        out.append(" ".join(spelled))
    return out


# --- the report ---------------------------------------------------------------------

REPORT_CACHE_SECONDS = 600  # clustering costs CPU: the same report is served from the cache for 10 minutes
MAX_TICKETS = 20_000  # the newest tickets of a longer range are analysed
MAX_DAYS = 366
TEXT_CHARS = 1000  # subject + the start of the first message
EXAMPLE_CHARS = 300
MIN_CLUSTER_SIZE = 3
MAX_CLUSTERS = 20


@dataclass(frozen=True)
class ReportExample:
    ticket_id: int
    text: str


@dataclass(frozen=True)
class ReportCluster:
    """One recurring issue: its tickets (most typical first), words, examples and tickets per week."""

    key: str  # fingerprint of its tickets: names the cluster in a form without trusting ids from the browser
    size: int
    share: float  # of the tickets in the range, 0..1
    terms: list[str]
    examples: list[ReportExample]
    ticket_ids: list[int]
    uncategorised_ids: list[int]
    cohesion: float
    weekly: list[int]  # tickets opened per week (weeks of the report)

    @property
    def title(self) -> str:
        """A category name to start from: the top term ("Hoàn học phí"), with the next one when the top
        term is a single word."""
        words = self.terms[0] if self.terms else ""
        if len(words.split()) < 2 and len(self.terms) > 1:
            words = f"{words}, {self.terms[1]}"
        return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class RecurringReport:
    start: dt.date
    end: dt.date
    kind: str
    category_id: int | None
    tickets: int  # tickets in the range (analysed; the newest MAX_TICKETS when `truncated`)
    clustered: int  # tickets in the clusters shown
    clusters: list[ReportCluster]
    weeks: list[dt.date]  # Mondays
    truncated: bool
    computed_at: dt.datetime
    seconds: float

    def cluster(self, key: str) -> ReportCluster | None:
        return next((c for c in self.clusters if c.key == key), None)


def month_range(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month of `day`."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _cache_key(actor: Any, *, start: dt.date, end: dt.date, kind: str, category_id: int | None) -> str:
    """Per actor scope: everyone with scope `all` shares a report; narrower scopes depend on the person
    (own tickets) and their team and branch."""
    scope = actor.scope_for(selectors.OBJECT_TYPE)
    who = "all" if scope == "all" else f"{scope}.{actor.pk}.{actor.team_id}.{actor.branch_id}"
    return f"helpdesk:recurring:v1:{who}:{kind}:{category_id or ''}:{start.isoformat()}:{end.isoformat()}"


def _check_range(start: dt.date, end: dt.date, kind: str) -> None:
    if end < start:
        raise ValidationFailed({"to": [_("The end is before the start.")]})
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed({"to": [_("Choose at most %(n)d days.") % {"n": MAX_DAYS}]})
    if kind and kind not in TicketKind.values:
        raise ValidationFailed({"kind": [_("Unknown kind.")]})


def recurring_complaints(
    *,
    actor: Any,
    start: dt.date,
    end: dt.date,
    kind: str = "complaint",
    category_id: int | None = None,
    refresh: bool = False,
) -> RecurringReport:
    """The recurring issues among the tickets the actor may see, opened between two local days (both
    included), of one kind ("" = every kind) and optionally one category (with its sub-categories). Needs
    the `configure` right on tickets (heads of care, admins). Cached for 10 minutes per actor scope and
    range; `refresh` computes it again."""
    require_action(actor, selectors.OBJECT_TYPE, Action.CONFIGURE)
    _check_range(start, end, kind)
    if category_id is not None:
        selectors.category_get(actor=actor, category_id=category_id)  # 404 when there is none
    key = _cache_key(actor, start=start, end=end, kind=kind, category_id=category_id)
    if not refresh:
        cached = cache.get(key)
        if isinstance(cached, RecurringReport):
            return cached
    report = _compute(actor=actor, start=start, end=end, kind=kind, category_id=category_id)
    cache.set(key, report, REPORT_CACHE_SECONDS)
    return report


def recurring_forget(
    *, actor: Any, start: dt.date, end: dt.date, kind: str = "complaint", category_id: int | None = None
) -> None:
    """Drop the cached report (after its tickets changed category): the next read computes it again."""
    cache.delete(_cache_key(actor, start=start, end=end, kind=kind, category_id=category_id))


def _compute(
    *, actor: Any, start: dt.date, end: dt.date, kind: str, category_id: int | None
) -> RecurringReport:
    began = time.perf_counter()
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    first_message = (
        Message.objects.filter(ticket=OuterRef("pk"), direction=MessageDirection.INBOUND)
        .order_by("created_at", "id")
        .values("body")[:1]
    )
    qs = selectors.ticket_filter(
        selectors.ticket_visible(actor=actor).filter(opened_at__gte=since, opened_at__lt=until),
        actor=actor,
        filters=selectors.TicketFilters(kind=kind, category=category_id),
    )
    rows = list(
        qs.annotate(first_message=Left(Subquery(first_message), TEXT_CHARS))
        .order_by("-opened_at", "-id")
        .values_list("id", "subject", "first_message", "opened_at", "category_id")[: MAX_TICKETS + 1]
    )
    truncated = len(rows) > MAX_TICKETS
    rows = rows[:MAX_TICKETS]
    rows.reverse()  # oldest first: a stable order for the clustering
    texts = [_ticket_text(subject, body) for _id, subject, body, _at, _cat in rows]
    found = cluster_texts(texts, min_cluster_size=MIN_CLUSTER_SIZE, max_clusters=MAX_CLUSTERS)
    monday = start - dt.timedelta(days=start.weekday())
    weeks = [monday + dt.timedelta(weeks=w) for w in range((end - monday).days // 7 + 1)]
    total = len(rows)
    out = []
    for c in found:
        ids = [rows[i][0] for i in c.members]
        weekly = [0] * len(weeks)
        for i in c.members:
            local_day = timezone.localtime(rows[i][3], tz).date()
            weekly[min((local_day - monday).days // 7, len(weeks) - 1)] += 1
        out.append(
            ReportCluster(
                key=hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16],
                size=c.size,
                share=round(c.size / total, 4) if total else 0.0,
                terms=c.terms,
                examples=[ReportExample(rows[i][0], _shorten(texts[i])) for i in c.examples],
                ticket_ids=ids,
                uncategorised_ids=[rows[i][0] for i in c.members if rows[i][4] is None],
                cohesion=c.cohesion,
                weekly=weekly,
            )
        )
    return RecurringReport(
        start=start,
        end=end,
        kind=kind,
        category_id=category_id,
        tickets=total,
        clustered=sum(c.size for c in out),
        clusters=out,
        weeks=weeks,
        truncated=truncated,
        computed_at=timezone.now(),
        seconds=round(time.perf_counter() - began, 3),
    )


def _ticket_text(subject: str | None, body: str | None) -> str:
    subject = (subject or "").strip()
    body = (body or "").strip()
    if subject and body and fold(body).startswith(fold(subject)):
        return body  # the subject is the start of the message (web forms, calls logged by agents)
    return f"{subject}.\n{body}" if body else subject


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1].rstrip() + "…"


# --- a cluster becomes a category with a playbook ---------------------------------------------------------


@dataclass(frozen=True)
class CategoryFromCluster:
    category_id: int
    playbook_id: int
    recategorised: int  # uncategorised tickets of the cluster now in the new category
    skipped: int  # uncategorised tickets left alone (closed, or no right to change them)


def default_playbook_steps() -> list[str]:
    """A skeleton the head of care edits before saving."""
    return [
        _("Confirm the customer's details and what exactly happened"),
        _("Check the history: earlier tickets, payments, orders or classes concerned"),
        _("Agree a solution and a deadline with the customer"),
        _("Carry out the solution and record it on the ticket"),
        _("Call the customer back to confirm the issue is solved"),
    ]


def cluster_to_category(
    *,
    actor: Any,
    cluster: ReportCluster,
    name: str,
    steps: Sequence[str],
    parent_id: int | None = None,
    default_priority: str = "",
    involve: str = "",
    recategorise: bool = False,
) -> CategoryFromCluster:
    """Create a category and its playbook for a recurring issue (helpdesk.services.category_create and
    playbook_save: `configure` right, audited) and, with `recategorise`, put the cluster's uncategorised
    tickets in it (services.ticket_update, one audited change per ticket). All or nothing."""
    with transaction.atomic():
        category = services.category_create(
            actor=actor, name=name, parent_id=parent_id, default_priority=default_priority
        )
        playbook = services.playbook_save(
            actor=actor, category_id=category.pk, steps=list(steps), involve=involve
        )
        moved = skipped = 0
        if recategorise and cluster.uncategorised_ids:
            candidates = set(
                selectors.ticket_visible(actor=actor)
                .filter(pk__in=cluster.uncategorised_ids, category__isnull=True)
                .exclude(status=TicketStatus.CLOSED)
                .values_list("pk", flat=True)
            )
            for ticket_id in cluster.uncategorised_ids:
                if ticket_id not in candidates:
                    skipped += 1
                    continue
                try:
                    with transaction.atomic():
                        services.ticket_update(
                            actor=actor, ticket_id=ticket_id, data={"category_id": category.pk}
                        )
                except ApplicationError:
                    skipped += 1
                else:
                    moved += 1
    return CategoryFromCluster(
        category_id=category.pk, playbook_id=playbook.pk, recategorised=moved, skipped=skipped
    )
