"""The pure clustering of complaint texts (careline.helpdesk.clusters.cluster_texts): no database."""

from __future__ import annotations

import random
import unicodedata
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careline.helpdesk import clusters
from careline.helpdesk.clusters import cluster_texts, text_terms
from careline.vn import fold

GREETINGS = [
    "",
    "",
    "Chào anh chị, ",
    "Chào em, ",
    "Xin chào, ",
    "Dạ chào trung tâm, ",
    "Alo, ",
    "Em chào chị ạ, ",
]
ENDINGS = ["", "", " Cảm ơn ạ.", " Mong trung tâm phản hồi sớm.", " Rất bực mình!", " Trả lời giúp em với."]
TOPICS = {
    "refund": [
        "Tôi muốn được hoàn học phí vì {reason}.",
        "Đề nghị hoàn lại học phí khóa {course} cho con tôi.",
        "Đã gửi đơn xin hoàn học phí {when} mà chưa thấy hoàn tiền.",
        "Sao trung tâm chưa hoàn học phí cho tôi? Đã {when} rồi.",
        "Yêu cầu hoàn học phí do {reason}, bao giờ thì được hoàn?",
        "Con tôi nghỉ học, xin hoàn học phí phần còn lại của khóa {course}.",
        "Hoàn học phí chậm quá, {when} vẫn chưa nhận được tiền hoàn.",
    ],
    "late": [
        "Giáo viên đến muộn {mins} phút trong buổi học {day}.",
        "Cô giáo lớp {course} hay đi muộn, buổi {day} muộn tận {mins} phút.",
        "Thầy giáo đến lớp muộn nhiều lần, con tôi phải chờ {mins} phút.",
        "Phản ánh giáo viên thường xuyên vào lớp muộn, {day} vừa rồi muộn {mins} phút.",
        "Lớp {course} giáo viên đến muộn, học sinh ngồi chờ mãi.",
        "Giáo viên nước ngoài đi muộn {mins} phút mà không báo trước.",
    ],
    "invoice": [
        "Tôi không nhận được hoá đơn VAT cho khoản đóng {amount}.",
        "Chưa nhận được hóa đơn điện tử sau khi thanh toán {when}.",
        "Đã thanh toán {amount} nhưng không nhận được hoá đơn.",
        "Công ty tôi cần hóa đơn đỏ mà {when} vẫn chưa nhận được hóa đơn.",
        "Xin gửi lại hoá đơn, email không nhận được hóa đơn điện tử nào.",
        "Kế toán báo chưa nhận được hoá đơn VAT của khoản {amount}.",
    ],
}
SLOTS = {
    "reason": [
        "chuyển nhà",
        "con bị ốm",
        "lịch học không phù hợp",
        "chất lượng không như cam kết",
        "đi du học",
    ],
    "course": ["IELTS 6.5", "tiếng Anh trẻ em", "TOEIC", "giao tiếp", "Starters"],
    "when": ["2 tuần", "một tháng", "từ tháng trước", "10 ngày", "3 tuần nay"],
    "mins": ["15", "20", "30", "45", "10"],
    "day": ["thứ Hai", "thứ Tư", "thứ Bảy", "chủ nhật", "tối qua"],
    "amount": ["5.000.000đ", "12 triệu", "3,5 triệu", "8 triệu đồng", "học phí kỳ 2"],
}
NOISE = [
    "Wifi ở phòng chờ yếu quá, không vào mạng được.",
    "Bãi gửi xe chật, bảo vệ thái độ không tốt.",
    "Máy lạnh phòng 302 bị hỏng, nóng quá.",
    "Muốn đổi lịch thi thử sang cuối tuần.",
    "Ứng dụng trên điện thoại bị treo khi đăng nhập.",
    "Nhà vệ sinh tầng 2 bẩn, đề nghị dọn dẹp.",
    "Tư vấn viên gọi điện quá nhiều lần làm phiền.",
    "Sách giáo trình bị thiếu trang 20 đến 30.",
    "Căng tin bán đồ ăn đắt.",
    "Website báo lỗi khi đăng ký lớp mới.",
    "Nhân viên lễ tân nói chuyện thiếu lịch sự.",
    "Bài kiểm tra giữa kỳ chấm điểm sai.",
    "Thang máy hay bị kẹt.",
    "Đèn lớp học bị nhấp nháy.",
    "Xin đổi sang lớp buổi sáng.",
]
SIZES = {"refund": 30, "late": 25, "invoice": 20}


def complaint_set(
    *, seed: int = 1, strip: float = 0.4, sizes: dict[str, int] | None = None, noise: int = 15
) -> list[tuple[str, str]]:
    """(topic, text) pairs: varied phrasings, greetings and sign-offs; `strip` of them typed without
    diacritics (half of those in capitals); `noise` one-off complaints about other things."""
    rnd = random.Random(seed)
    rows = []
    for topic, n in (sizes or SIZES).items():
        for _ in range(n):
            text = rnd.choice(TOPICS[topic])
            for slot, values in SLOTS.items():
                text = text.replace("{" + slot + "}", rnd.choice(values))
            text = rnd.choice(GREETINGS) + text + rnd.choice(ENDINGS)
            if rnd.random() < strip:
                text = fold(text) if rnd.random() < 0.5 else fold(text).upper()
            rows.append((topic, text))
    for i in range(noise):
        text = NOISE[i % len(NOISE)]
        rows.append(("noise", fold(text) if rnd.random() < strip else text))
    rnd.shuffle(rows)
    return rows


def _match(found: list[clusters.Cluster], labels: list[str]) -> dict[str, tuple[int, float]]:
    """topic → (cluster size, purity) for the biggest cluster whose majority is that topic."""
    out: dict[str, tuple[int, float]] = {}
    for c in found:
        topic, n = Counter(labels[i] for i in c.members).most_common(1)[0]
        if topic != "noise" and topic not in out:
            out[topic] = (c.size, n / c.size)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("strip", [0.0, 0.4, 1.0])
def test_finds_the_three_groups_with_their_sizes(seed: int, strip: float) -> None:
    rows = complaint_set(seed=seed, strip=strip)
    labels = [t for t, _x in rows]
    found = cluster_texts([x for _t, x in rows])
    matched = _match(found, labels)
    assert set(matched) == {"refund", "late", "invoice"}
    for topic, (size, purity) in matched.items():
        assert abs(size - SIZES[topic]) <= 2, (topic, size)
        assert purity >= 0.9, (topic, purity)
    # the three complaints are the three biggest groups, in order of size
    top = [Counter(labels[i] for i in c.members).most_common(1)[0][0] for c in found[:3]]
    assert top == ["refund", "late", "invoice"]
    assert [c.size for c in found] == sorted((c.size for c in found), reverse=True)


def test_cluster_description() -> None:
    rows = complaint_set(seed=2)
    texts = [x for _t, x in rows]
    labels = [t for t, _x in rows]
    found = cluster_texts(texts)
    refund = found[0]
    assert labels[refund.members[0]] == "refund"
    # the top term is spelled with diacritics (as most people typed it), from the folded centroid term
    assert refund.terms[0] == "hoàn học phí"
    assert refund.folded_terms[0] == "hoan hoc phi"
    invoice = next(c for c in found if labels[c.members[0]] == "invoice")
    assert any(fold(t) == "nhan hoa don" or fold(t) == "hoa don" for t in invoice.terms[:2]), invoice.terms
    for c in found:
        assert 1 <= len(c.examples) <= 3
        assert set(c.examples) <= set(c.members)
        assert len({fold(texts[i]) for i in c.examples}) == len(c.examples)  # distinct texts
        assert set(c.examples) <= set(c.members[:10])  # among the most typical
        if any(not texts[i].isascii() for i in c.members[:3]):
            assert not texts[c.examples[0]].isascii()  # a text typed with diacritics leads when there is one
        assert 0 < c.cohesion <= 1
        assert len(c.members) == c.size == len(set(c.members))


def test_deterministic_and_independent_of_input_unicode_form() -> None:
    rows = complaint_set(seed=3)
    texts = [x for _t, x in rows]
    first = cluster_texts(texts)
    assert cluster_texts(texts) == first
    nfd = [unicodedata.normalize("NFD", t) for t in texts]
    assert [c.members for c in cluster_texts(nfd)] == [c.members for c in first]


def test_same_groups_with_or_without_diacritics() -> None:
    rows = complaint_set(seed=4, strip=0.0)
    accented = cluster_texts([x for _t, x in rows])
    plain = cluster_texts([fold(x) for _t, x in rows])
    assert [c.size for c in plain[:3]] == [c.size for c in accented[:3]]
    assert [sorted(c.members) for c in plain[:3]] == [sorted(c.members) for c in accented[:3]]


def test_empty_and_short_texts_are_ignored() -> None:
    rows = complaint_set(seed=5)
    texts = [x for _t, x in rows]
    junk = ["", "   ", "ok", "Chào em", "Alo ạ", "123456", "???", "Dạ vâng", "Cảm ơn chị"]
    found = cluster_texts(junk + texts)
    members = {i for c in found for i in c.members}
    assert not members & set(range(len(junk)))
    assert cluster_texts(junk) == []
    assert cluster_texts([]) == []
    assert cluster_texts(["hoàn học phí"]) == []


def test_min_cluster_size_and_max_clusters() -> None:
    rows = complaint_set(seed=1)
    texts = [x for _t, x in rows]
    assert all(c.size >= 21 for c in cluster_texts(texts, min_cluster_size=21))
    assert len(cluster_texts(texts, min_cluster_size=21)) == 2
    assert len(cluster_texts(texts, max_clusters=2)) == 2
    assert [c.size for c in cluster_texts(texts, max_clusters=2)] == [
        c.size for c in cluster_texts(texts)[:2]
    ]


def test_sampled_path_for_large_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SAMPLE_SIZE, stage 1 runs on samples and the other texts join the parts they match."""
    monkeypatch.setattr(clusters, "SAMPLE_SIZE", 40)
    rows = complaint_set(seed=2, sizes={"refund": 60, "late": 50, "invoice": 40}, noise=15)
    labels = [t for t, _x in rows]
    found = cluster_texts([x for _t, x in rows], random_state=7)
    matched = _match(found, labels)
    assert set(matched) == {"refund", "late", "invoice"}
    for topic, (size, purity) in matched.items():
        assert size >= {"refund": 60, "late": 50, "invoice": 40}[topic] * 0.9, (topic, size)
        assert purity >= 0.9
    assert cluster_texts([x for _t, x in rows], random_state=7) == found


def test_noise_stays_out() -> None:
    rows = complaint_set(seed=1, noise=15)
    labels = [t for t, _x in rows]
    found = cluster_texts([x for _t, x in rows])
    in_groups = sum(1 for c in found[:3] for i in c.members if labels[i] == "noise")
    assert in_groups <= 2


# --- stop words and terms ----------------------------------------------------------------------------


def test_terms_fold_and_drop_function_words() -> None:
    terms = text_terms("Chào chị, tôi chưa được HOÀN HỌC PHÍ ạ!")
    assert "hoan hoc" in terms and "hoc phi" in terms and "hoan" in terms
    assert not {"chao", "chi", "toi", "duoc", "a"} & set(terms)
    assert text_terms("chao chi, toi chua duoc hoan hoc phi a") == terms


def test_pairs_stay_inside_a_clause() -> None:
    terms = text_terms("Giáo viên đến muộn. Hoá đơn chưa có")
    assert "vien muon" in terms  # "đến" is dropped: its neighbours pair up
    assert "muon hoa" not in terms  # the full stop cuts the pair
    assert "hoa don" in terms


def test_meaningful_words_survive_when_typed_with_diacritics() -> None:
    """Diacritics tell the function word from the content word; without them the folded stop list applies."""
    assert "ma" in text_terms("Mã giảm giá không dùng được")  # mã = code
    assert "ma" not in text_terms("Đã đóng tiền mà chưa có lớp")  # mà = but
    assert "da" in text_terms("Kem dưỡng da bị kích ứng")  # da = skin
    assert "da" not in text_terms("Tôi đã gửi đơn")  # đã = already
    assert "thi" in text_terms("Lịch thi thử bị đổi")  # thi = exam
    assert "thi" not in text_terms("Nếu không hoàn thì tôi báo")  # thì = then
    assert "chi phi" in text_terms("Chi phí phát sinh quá cao")  # chi phí = cost
    assert "chi" not in text_terms("Chị ơi hoá đơn đâu")  # chị = sister (address)
    assert "cua hang" in text_terms("Cửa hàng đóng cửa sớm")  # cửa hàng = shop
    # typed without diacritics, the folded forms that are mostly content words are kept
    assert "tai khoan" in text_terms("khong dang nhap duoc tai khoan")
    assert "tu van" in text_terms("tu van vien goi nhieu qua")
    assert "muon" in text_terms("giao vien den muon")  # muộn (late), though muốn (want) is a stop word
    assert "muon" not in text_terms("Tôi muốn đổi lớp")
    assert "toi" not in text_terms("toi muon doi lop")


def test_numbers_are_not_terms() -> None:
    terms = text_terms("Đơn 12345 thanh toán 5.000.000đ ngày 12/3")
    assert not any(ch.isdigit() for t in terms for ch in t)
    assert "thanh toan" in terms


# --- properties --------------------------------------------------------------------------------------

VOCAB = ["hoàn", "học phí", "giáo viên", "muộn", "hoá đơn", "nhận", "lớp", "trung tâm", "tiền", "đổi", "lịch"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.sampled_from(VOCAB + ["", "chào", "ạ", "123"]), max_size=6).map(" ".join), max_size=40
    ),
    st.integers(min_value=2, max_value=5),
    st.integers(min_value=1, max_value=5),
)
def test_clusters_are_a_partial_partition(texts: list[str], min_size: int, max_clusters: int) -> None:
    found = cluster_texts(texts, min_cluster_size=min_size, max_clusters=max_clusters)
    assert len(found) <= max_clusters
    seen: set[int] = set()
    for c in found:
        assert c.size >= min_size
        assert all(0 <= i < len(texts) for i in c.members)
        assert not seen & set(c.members)
        seen |= set(c.members)
        assert set(c.examples) <= set(c.members)
        assert c.terms and len(c.terms) == len(c.folded_terms)
        assert [fold(t) for t in c.terms] == c.folded_terms
    assert [c.size for c in found] == sorted((c.size for c in found), reverse=True)
