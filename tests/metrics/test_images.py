import pytest

from m2io.metrics import OrderingCosts, image_prf, ordering_score, position_accuracy, weighted_levenshtein


@pytest.mark.parametrize("gold,pred,expected", [
    ("ab", "ab", 1.0), ("ab", "ba", 0.6667), ("ab", "a", 0.25), ("ab", "abc", 0.7778), ("ab", "xab", 0.7778),
    ("abc", "cba", 0.7778), ("abcd", "abdc", 0.8333), ("a", "", 0.0),
])
def test_ordering_worked_values_from_design(gold, pred, expected):
    assert ordering_score(list(gold), list(pred)) == pytest.approx(expected, abs=1e-4)


def test_ordering_conventions_and_cap():
    assert ordering_score([], []) == 1.0
    assert ordering_score([], ["a"]) == 0.0
    assert ordering_score(["a"], ["x", "y"]) == 0.0  # nothing right: r = 0
    # a, then six extras: D = 12, max(n, m) = 7, 12/7 < 3 -> r * (1 - (12/7)/3)
    assert ordering_score(["a"], list("abcdefg")) == pytest.approx(1 - (12 / 7) / 3)
    assert ordering_score(["a", "b"], ["b"], OrderingCosts(missing=1)) == pytest.approx(0.5 * (1 - 0.5 / 3))


def test_weighted_levenshtein_costs():
    assert weighted_levenshtein("ab", "") == 6  # two missing
    assert weighted_levenshtein("", "ab") == 4  # two extra
    assert weighted_levenshtein("ab", "ax") == 1  # one substitution
    assert weighted_levenshtein("abc", "ac") == 3


@pytest.mark.parametrize("gold,pred,expected", [
    ([], [], (1, 1, 1)), (["a"], [], (0, 0, 0)), ([], ["a"], (0, 1, 0)),
    (["a", "b"], ["a"], (1, 0.5, 2 / 3)), (["a", "b", "b"], ["b", "c", "d", "a"], (0.5, 1, 2 / 3)),
])
def test_prf_on_sets(gold, pred, expected):
    assert image_prf(gold, pred) == pytest.approx(expected)


def test_position_accuracy_exact_and_soft():
    gold = {"a": 0, "b": 2, "c": 4}
    pred = [("a", 0), ("b", 3), ("x", 1)]  # c not placed
    assert position_accuracy(gold, pred, n_segments=4) == pytest.approx(1 / 3)
    assert position_accuracy(gold, pred, n_segments=4, soft=True) == pytest.approx((1 + 0.75 + 0) / 3)
    assert position_accuracy({}, {}, 3) == 1.0 and position_accuracy({}, {"a": 1}, 3) == 0.0
    assert position_accuracy({"a": 0}, {"a": 9}, 3, soft=True) == 0.0  # clipped at 0
