import pytest

from m2io.metrics import BertScore, rouge_l, strip_placeholders


def test_strip_placeholders():
    assert strip_placeholders("A <PIC> b <img12> c.\n<PIC>\nD.") == "A b c.\n\nD."


def test_rouge_l_hand_computed():
    # Reference "the cat sat on the mat" vs prediction "the cat lay on the mat": LCS = 5 of 6 tokens.
    assert rouge_l("The cat sat on the mat.", "The cat lay on the mat.") == pytest.approx(5 / 6)
    # Stemming: "sitting"/"sits" -> "sit". Placeholders are ignored.
    assert rouge_l("Cats sitting. <PIC>", "<img1> cat sits.") == pytest.approx(1.0)
    assert rouge_l("alpha beta", "gamma delta") == 0.0


@pytest.fixture(scope="module")
def bertscore():
    return BertScore()


def test_bertscore_on_bundled_minilm(bertscore):
    assert "MiniLM" in bertscore.encoder
    same, close, far, empty = bertscore(
        ["Open the Layers dialog from the Windows menu."] * 4,
        ["Open the Layers dialog from the Windows menu. <img1>", "The Layers dialog opens from the Windows menu.",
         "Bananas are rich in potassium.", "<PIC>"])
    assert same == pytest.approx(1.0, abs=1e-4)
    assert far < close < same
    assert close > 0.8 and far < 0.5
    assert empty == 0.0


def test_bertscore_length_mismatch(bertscore):
    with pytest.raises(ValueError, match="2 references but 1 predictions"):
        bertscore(["a", "b"], ["a"])
