from m2io.corpus.chunk import ChunkConfig, approx_tokens, chunk_document, image_contexts
from m2io.types import Document


def _doc(n_sentences: int, images_at: dict[int, str]) -> Document:
    parts, ids = ["Heading"], []
    for i in range(n_sentences):
        parts.append(f"Sentence number {i} talks about layers and masks.")
        if i in images_at:
            parts.append("<PIC>")
            ids.append(images_at[i])
    return Document("d", "\n".join(parts), ids)


def test_chunks_respect_budget_keep_marks_and_order():
    doc = _doc(40, {3: "a", 17: "b", 30: "c"})
    chunks = chunk_document(doc, ChunkConfig(max_tokens=60))
    assert len(chunks) > 4
    assert all(approx_tokens(c.text.replace("<PIC>", "")) <= 60 for c in chunks)
    assert [i for c in chunks for i in c.image_ids] == ["a", "b", "c"]
    assert all(c.text.count("<PIC>") == len(c.image_ids) for c in chunks)
    assert [c.id for c in chunks] == [f"d::{n}" for n in range(len(chunks))]
    # Sentence-aware: no sentence is split across chunks.
    assert all(line.endswith(".") or line in ("Heading", "<PIC>") for c in chunks for line in c.text.split("\n"))
    assert " ".join(c.text for c in chunks).replace("\n", " ") == doc.content.replace("\n", " ")


def test_overlong_sentence_is_cut_at_words():
    doc = Document("d", " ".join(["word"] * 500) + ".", [])
    chunks = chunk_document(doc, ChunkConfig(max_tokens=100))
    assert len(chunks) == 7 and all(approx_tokens(c.text) <= 100 for c in chunks)


def test_image_contexts_take_words_on_both_sides():
    doc = Document("d", "one two three four <PIC> five six seven <PIC> eight", ["x", "y"])
    ctx = image_contexts(doc, ChunkConfig(context_words=2))
    assert ctx == {"x": "three four five six", "y": "six seven eight"}


def test_document_without_text_or_images():
    assert chunk_document(Document("d", "", [])) == []
    only_image = chunk_document(Document("d", "<PIC>", ["x"]))
    assert [(c.text, c.image_ids) for c in only_image] == [("<PIC>", ["x"])]


def test_a_japanese_line_is_counted_and_cut_by_characters():
    line = "このツールは画像のレイヤーを揃えます。" * 30  # 570 characters, no space: one "word" by spaces
    assert approx_tokens(line) == (570 * 4 + 2) // 3
    chunks = chunk_document(Document("d", line, []), ChunkConfig(max_tokens=100))
    assert len(chunks) == 10 and all(approx_tokens(c.text) <= 100 for c in chunks)  # 3 whole sentences each
    assert "".join(c.text for c in chunks) == line  # nothing lost, nothing added (no space between sentences)
    long = "画像" * 300 + "。"  # one 601-character sentence: cut between characters
    parts = chunk_document(Document("d", long, []), ChunkConfig(max_tokens=100))
    assert len(parts) == 9 and all(approx_tokens(c.text) <= 100 for c in parts) and "".join(c.text for c in parts) == long
