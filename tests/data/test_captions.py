"""Captions written from class labels (pgm.data.captions)."""

import pytest
import torch

from pgm.data import captions as C
from pgm.errors import UnknownNameError


@pytest.mark.parametrize("data", ["fashion-mnist", "mnist", "shapes"])
def test_held_out_captions_are_new_sentences_of_known_words(data):
    train, held = C.captions(data, "train"), C.captions(data, "held_out")
    assert len(train) + len(held) == len(C.NAMES[data]) * 3 * len(C.TEMPLATES)
    assert not {t for t, _ in train} & {t for t, _ in held}
    known = {w for t, _ in train for w in C.words(t)}
    assert all(set(C.words(t)) <= known for t, _ in held)
    assert {c for _, c in held} == set(range(len(C.NAMES[data])))  # every class: unseen ones
    assert len(held) == pytest.approx(len(train) / 4, abs=2)


def test_describe_draws_a_training_caption_of_each_label_reproducibly():
    labels = torch.tensor([0, 1, 9, 9, 3])
    texts = C.describe(labels, "fashion-mnist", seed=3)
    by_text = dict(C.captions("fashion-mnist", "train"))
    assert [by_text[t] for t in texts] == labels.tolist()
    assert texts == C.describe(labels, "fashion-mnist", seed=3)
    many = C.describe(torch.full((200,), 1), "fashion-mnist", seed=0)
    assert len(set(many)) > 10  # paraphrases, not one fixed caption per class
    with pytest.raises(ValueError, match=r"labels: expected \(n,\) class labels in 0..9"):
        C.describe(torch.tensor([10]), "fashion-mnist")
    with pytest.raises(UnknownNameError, match="no captions for 'cifar'"):
        C.captions("cifar")


def test_vocabulary_pads_marks_unknown_words_and_decodes():
    v = C.Vocabulary(["a pair of trousers", "a t-shirt"])
    assert v.words[:2] == [C.PAD, C.UNKNOWN] and "t-shirt" in v.words
    t = v.encode(["A pair of Trousers!", "a purple t-shirt"])
    assert t.shape == (2, 4) and t[1, 3] == 0 and t[1, 1] == 1  # padding, unknown word
    assert v.decode(t) == ["a pair of trousers", f"a {C.UNKNOWN} t-shirt"]
    assert v.encode(["a pair of trousers"], length=2).tolist() == [[v.index["a"], v.index["pair"]]]
    with pytest.raises(TypeError, match="one string"):
        v.encode("a top")
