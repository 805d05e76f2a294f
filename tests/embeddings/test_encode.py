"""The encoder's short way for one text (DirectBert) against sentence-transformers' encode()."""

from __future__ import annotations

import numpy as np
import pytest

from astrepo.embeddings.encode import DirectBert, Encoder, EncoderConfig

#: The last two came out up to 0.03 apart when attention was computed another way than transformers'
#: (int8 layers quantise their input per call: a last-bit difference there can move a vector far).
TEXTS = ["parse a date string into a date object", "x", "", "élève naïve 日本語 ✓",
         "Return the context variables required by apps that use Django's authentication system, "
         "a text long enough to be cut to the token window",
         "parse http header (http): parse_http_header(line)\nSplit one HTTP header line into a name and a value.",
         "This is more complex test to check if JOIN on field and\nnumber as argument works as expected",
         "Simple test run: catches errors and runs cleanup"]


@pytest.mark.slow
@pytest.mark.parametrize("quantize", [True, False])
def test_one_text_matches_sentence_transformers_encode(quantize):
    encoder = Encoder.load(EncoderConfig(quantize=quantize))
    assert encoder.direct is not None
    expected = encoder._model.encode(TEXTS, batch_size=1, convert_to_numpy=True, normalize_embeddings=True,
                                     show_progress_bar=False)
    got = np.stack([encoder.encode([text])[0] for text in TEXTS])
    assert np.abs(got - expected).max() < 1e-6
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_other_model_shapes_take_the_usual_way():
    assert DirectBert.of([]) is None
    assert DirectBert.of([object(), object(), object()]) is None


class _PlainModel:
    """A model of a shape DirectBert does not know: only sentence-transformers' ``encode``."""

    def __init__(self) -> None:
        self.calls = 0

    def __iter__(self):
        return iter(())

    def get_sentence_embedding_dimension(self) -> int:
        return 4

    def encode(self, texts, **_):
        self.calls += 1
        return np.full((len(texts), 4), 0.5, dtype=np.float32)


def test_one_text_through_a_model_of_another_shape_takes_the_usual_way():
    model = _PlainModel()
    encoder = Encoder(EncoderConfig(), model)
    assert encoder.direct is None
    assert np.array_equal(encoder.encode(["one text"]), np.full((1, 4), 0.5, dtype=np.float32))
    assert model.calls == 1
