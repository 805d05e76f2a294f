"""The encoder's short ways for a few texts (DirectBert, bert.LightBert) against sentence-transformers' encode()."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from astrepo.embeddings.bert import light_model_config
from astrepo.embeddings.encode import FEW_TEXTS, DirectBert, Encoder, EncoderConfig, resolve_model_path

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
    light = encoder.encode(TEXTS)  # before the model is loaded: the folder's own layers
    assert encoder.direct is not None and len(TEXTS) <= FEW_TEXTS
    expected = encoder.model.encode(TEXTS, batch_size=1, convert_to_numpy=True, normalize_embeddings=True,
                                    show_progress_bar=False)
    got = np.stack([encoder.encode([text])[0] for text in TEXTS])  # through the loaded model's layers
    assert np.abs(got - expected).max() < 1e-6
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(light, got)


def test_a_few_texts_are_encoded_without_importing_sentence_transformers():
    script = ("import sys; from astrepo.embeddings.encode import Encoder, EncoderConfig; "
              "e = Encoder.load(EncoderConfig()); v = e.encode(['parse a header', 'x']); "
              "print(v.shape, 'sentence_transformers' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(2,", "384)", "False", "False"]


def test_only_folders_of_the_supported_shape_are_read_without_sentence_transformers(tmp_path):
    folder = Path(resolve_model_path(EncoderConfig().model))
    assert light_model_config(folder)["hidden_size"] == 384
    for name, change in [("modules.json", lambda d: d[:2]),
                         ("1_Pooling/config.json", lambda d: {**d, "pooling_mode_cls_token": True}),
                         ("config.json", lambda d: {**d, "hidden_act": "relu"})]:
        copy = tmp_path / name.replace("/", "_")
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("*.safetensors"))
        (copy / "model.safetensors").symlink_to(folder / "model.safetensors")
        (copy / name).write_text(json.dumps(change(json.loads((copy / name).read_text()))))
        assert light_model_config(copy) is None, name


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
    assert encoder.light is None
    assert encoder.direct is None
    assert np.array_equal(encoder.encode(["one text"]), np.full((1, 4), 0.5, dtype=np.float32))
    assert model.calls == 1
