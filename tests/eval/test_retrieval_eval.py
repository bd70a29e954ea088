"""The retrieval-evaluation harness (bench/retrieval.py): metrics on hand-computed cases, the
corpus -> vault conversion, and one small end-to-end run through the product's BM25 search."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.retrieval import (
    MAX_STEM_BYTES,
    NOTES_DIR,
    Doc,
    build,
    cache_dir,
    evaluate,
    load_qrels,
    main,
    mrr_at_k,
    ndcg_at_k,
    note_paths,
    recall_at_k,
    run_mode,
    safe_stem,
    write_vault,
)
from companion.markdown.parse import parse_note
from companion.vault.obsidian import IgnoreRules
from companion.vault.walk import walk

L2 = math.log2

# -- metrics -------------------------------------------------------------------------------------


def test_ndcg_binary_hand_computed() -> None:
    # relevant: a, b. ranked: x a y b -> DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
    got = ndcg_at_k(["x", "a", "y", "b"], {"a": 1, "b": 1}, 10)
    assert got == pytest.approx((1 / L2(3) + 1 / L2(5)) / (1 + 1 / L2(3)))


def test_ndcg_graded_gains_are_linear_and_ideal_sorts_grades() -> None:
    judged = {"a": 2, "b": 1, "c": 0}
    # ranked b, a: DCG = 1/1 + 2/log2(3); ideal a, b: 2/1 + 1/log2(3)
    got = ndcg_at_k(["b", "a"], judged, 10)
    assert got == pytest.approx((1 + 2 / L2(3)) / (2 + 1 / L2(3)))
    assert ndcg_at_k(["a", "b"], judged, 10) == pytest.approx(1.0)
    # a zero-graded judgment is not relevant: it adds nothing and is not in the ideal
    assert ndcg_at_k(["c", "a", "b"], judged, 10) == pytest.approx(
        (2 / L2(3) + 1 / L2(4)) / (2 + 1 / L2(3))
    )


def test_ndcg_ideal_counts_all_relevant_even_beyond_the_cutoff() -> None:
    judged = {d: 1 for d in "abc"}
    # k = 2, one relevant at rank 1: DCG = 1; IDCG@2 = 1 + 1/log2(3) (three relevant exist)
    assert ndcg_at_k(["a", "x", "b"], judged, 2) == pytest.approx(1 / (1 + 1 / L2(3)))
    # a relevant doc past the cutoff does not count
    assert ndcg_at_k(["x", "y", "a"], judged, 2) == 0.0


def test_no_relevant_retrieved_scores_zero() -> None:
    judged = {"a": 1}
    ranked = ["x", "y", "z"]
    assert ndcg_at_k(ranked, judged, 10) == 0.0
    assert recall_at_k(ranked, judged, 10) == 0.0
    assert mrr_at_k(ranked, judged, 10) == 0.0
    assert ndcg_at_k([], judged, 10) == 0.0


def test_recall_and_mrr_hand_computed() -> None:
    judged = {"a": 1, "b": 1, "c": 2, "d": 0}
    ranked = ["d", "x", "c", "a"] + [f"n{i}" for i in range(200)] + ["b"]
    assert recall_at_k(ranked, judged, 10) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, judged, 100) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, judged, 1000) == pytest.approx(1.0)
    assert mrr_at_k(ranked, judged, 10) == pytest.approx(1 / 3)  # d has grade 0
    assert mrr_at_k(ranked, judged, 2) == 0.0


def test_duplicate_doc_ids_in_a_ranking_count_once() -> None:
    judged = {"a": 1, "b": 1}
    assert recall_at_k(["a", "a", "a"], judged, 10) == pytest.approx(0.5)
    assert ndcg_at_k(["a", "a", "b"], judged, 10) == pytest.approx(1.0)


def test_evaluate_averages_over_judged_queries_missing_run_is_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}  # q3 has no relevant doc: skipped
    runs = {"q1": ["a"], "q3": ["c"]}  # q2 has no run: all zeros
    got = evaluate(runs, qrels)
    assert got == pytest.approx(
        {"ndcg@10": 0.5, "recall@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}
    )


def test_load_qrels_skips_header(tmp_path: Path) -> None:
    path = tmp_path / "qrels.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t2\n2\td1\t0\n", encoding="utf-8")
    assert load_qrels(path) == {"1": {"d1": 1, "d2": 2}, "2": {"d1": 0}}


# -- corpus -> vault -------------------------------------------------------------------------------

HOSTILE = 'a*b"c\\d/e<f>g:h|i?j#k^l[m]n'


def test_safe_stem_replaces_every_refused_character() -> None:
    stem = safe_stem(HOSTILE)
    assert stem == "a b c d e f g h i j k l m n"
    assert not set('*"\\/<>:|?#^[]') & set(stem)


def test_safe_stem_hidden_trailing_whitespace_and_controls() -> None:
    assert safe_stem("...hidden") == "hidden"  # a leading dot would hide the note
    assert safe_stem("  Title ends with a period.  ") == "Title ends with a period"
    assert safe_stem("tab\there\nnew\x00line") == "tab here new line"
    assert safe_stem("NFD cafe\u0301") == "NFD caf\u00e9"


def test_safe_stem_caps_length_in_bytes_at_a_word_boundary() -> None:
    long = " ".join(["électroencéphalographie"] * 40)
    stem = safe_stem(long)
    assert len(stem.encode("utf-8")) <= MAX_STEM_BYTES
    assert long.startswith(stem) and not stem.endswith(" ")
    assert stem.split(" ")[-1] == "électroencéphalographie"  # no word cut in half


def test_note_paths_duplicates_empty_titles_and_determinism() -> None:
    docs = [
        Doc("1", "Same title", "x"),
        Doc("2", "same TITLE", "y"),  # clashes case-insensitively
        Doc("3", "Same title", "z"),
        Doc("4", "", "no title"),
        Doc("5", ' :?"* ', "only refused characters"),
        Doc("6", "Same title (2)", "looks like a disambiguated name"),
        Doc("a/b:c", "", "hostile id, no title"),
    ]
    paths = note_paths(docs)
    assert paths["1"] == f"{NOTES_DIR}/Same title.md"
    # "Same title (2)" is doc 6's own title, so doc 2's suffixed name takes the next free one
    assert paths["2"] == f"{NOTES_DIR}/same TITLE (2) 2.md"
    assert paths["3"] == f"{NOTES_DIR}/Same title (3).md"
    assert paths["4"] == f"{NOTES_DIR}/4.md"
    assert paths["5"] == f"{NOTES_DIR}/5.md"
    assert paths["6"] == f"{NOTES_DIR}/Same title (2).md"
    assert paths["2"] != paths["6"]
    assert paths["a/b:c"] == f"{NOTES_DIR}/a b c.md"
    folded = [p.casefold() for p in paths.values()]
    assert len(set(folded)) == len(docs)
    assert note_paths(docs) == paths  # deterministic


def test_note_paths_disambiguated_name_never_steals_a_real_title() -> None:
    docs = [Doc("7", "T", ""), Doc("8", "T", ""), Doc("9", "T (8)", "")]
    paths = note_paths(docs)
    assert len({p.casefold() for p in paths.values()}) == 3
    assert paths["9"] == f"{NOTES_DIR}/T (8).md"  # its own title wins over the suffix scheme
    assert paths["8"] == f"{NOTES_DIR}/T (8) 2.md"


def test_note_paths_rejects_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        note_paths([Doc("1", "a", ""), Doc("1", "b", "")])


def test_write_vault_round_trip_path_to_doc_id(tmp_path: Path) -> None:
    docs = [
        Doc("10", HOSTILE, "body one"),
        Doc("11", HOSTILE, "body two"),
        Doc("12", "", "body three"),
        Doc("13", ".hidden: title", "---\nnot: frontmatter\n---\nbody"),
        Doc("14", "x" * 400, "long title"),
    ]
    vault = tmp_path / "vault"
    docmap = write_vault(docs, vault)
    assert sorted(docmap.values()) == sorted(d.id for d in docs)
    # Every note is a file the product's vault walker lists without a problem.
    listed = walk(vault, IgnoreRules())
    assert not listed.problems
    assert sorted(f.path for f in listed.files) == sorted(docmap)
    by_id = {d.id: d for d in docs}
    for rel, doc_id in docmap.items():
        note = parse_note((vault / rel).read_bytes(), rel)
        assert note.properties == {}  # a text starting with `---` is body, not frontmatter
        assert by_id[doc_id].text.split("---")[-1].strip() in note.body
        assert len(Path(rel).name.encode("utf-8")) <= 255
    # A second write with the same corpus changes no file (mtimes stay, the next sync is a no-op).
    before = {p: (vault / p).stat().st_mtime_ns for p in docmap}
    assert write_vault(docs, vault) == docmap
    assert {p: (vault / p).stat().st_mtime_ns for p in docmap} == before


def test_cache_dir_depends_on_corpus_and_model(tmp_path: Path) -> None:
    data = tmp_path / "ds"
    data.mkdir()
    (data / "corpus.jsonl").write_text('{"_id": "1", "title": "t", "text": "x"}\n')
    a = cache_dir(data, "model:1", tmp_path)
    assert cache_dir(data, "model:1", tmp_path) == a
    assert cache_dir(data, "model:2", tmp_path) != a
    (data / "corpus.jsonl").write_text('{"_id": "1", "title": "t", "text": "y"}\n')
    assert cache_dir(data, "model:1", tmp_path) != a


# -- end to end through the product's BM25 search (no embedding needed) -------------------------------


def _tiny_beir(root: Path) -> Path:
    data = root / "tiny"
    data.mkdir()
    corpus = [
        {
            "_id": "d1",
            "title": "Aspirin: heart attacks?",
            "text": "Aspirin lowers the risk of myocardial infarction.",
        },
        {
            "_id": "d2",
            "title": "Aspirin: heart attacks?",
            "text": "A duplicate title about platelets.",
        },
        {"_id": "d3", "title": "", "text": "Vitamin D deficiency and bone density in the elderly."},
        {
            "_id": "d4",
            "title": "Gut microbiome",
            "text": "Bacteria in the intestine shape immunity.",
        },
    ]
    queries = [
        {"_id": "q1", "text": "myocardial infarction aspirin"},
        {"_id": "q2", "text": "vitamin D bone density"},
        {"_id": "q3", "text": "query without judgments"},
    ]
    (data / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    (data / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (data / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    return data


def test_bm25_end_to_end_and_cache_reuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _tiny_beir(tmp_path)
    cache = tmp_path / "cache"
    assert main(["--data", str(data), "--mode", "bm25", "--cache", str(cache), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    bm25 = out["modes"]["bm25"]
    assert bm25["queries"] == 2  # q3 has no judgments
    assert bm25["ndcg@10"] == pytest.approx(1.0)
    assert bm25["mrr@10"] == pytest.approx(1.0)
    assert out["timings"]["parsed"] == 4
    # Second run: the cached vault and index are reused, nothing is parsed again.
    built = build(data, embed=False, cache_root=cache, log=lambda s: None)
    try:
        assert built.timings["parsed"] == 0
        assert sorted(built.docmap.values()) == ["d1", "d2", "d3", "d4"]
        res = run_mode(built, "bm25", {"q1": "platelets"}, {"q1": {"d2": 1}}, limit=10)
        assert res.runs["q1"][0] == "d2"
    finally:
        built.app.close()
