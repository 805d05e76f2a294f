"""A sentence-transformers BERT run on one text at a time with torch alone (no sentence-transformers).

Importing sentence-transformers (and through it transformers) costs ~6 s here, several times what
encoding a few texts costs once torch is imported (~2 s). An incremental index encodes a few texts, a
search one; for them, a model folder of the supported shape (`light_model_config`: a BertModel with
GELU and absolute positions, then mean Pooling and Normalize, with its weights in model.safetensors
and its tokenizer in tokenizer.json) is loaded from its own files: the same layers with the same
weights, int8-quantised by the same call, the same token IDs (the tokenizers library that
transformers' fast tokenizer wraps, with truncation to the token window and no padding).

`bert_vector` is the forward pass of transformers' BertModel in eval mode on one unpadded sequence,
its operations in the same order and shapes (so the int8 layers, which quantise their input per call,
see the same activations): embeddings and layer norm; per layer `scaled_dot_product_attention` without
a mask (as transformers passes for an unpadded sequence), output projection, residual and layer norm,
feed-forward with GELU, residual and layer norm; the mean of the tokens, L2-normalised. Used on the
layers of a loaded sentence-transformers model (encode.DirectBert) and on the layers built here, it
gives the same vector bit for bit (tests/embeddings/test_encode.py).

Known limits: one text per pass (no padded batches, whose vectors differ: the int8 layers quantise a
whole batch with one scale), so many texts go through sentence-transformers' batched ``encode``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: One layer's modules: query, key, value, attention scale, output dense, its layer norm,
#: intermediate dense, activation, output dense, its layer norm.
Layer = tuple[Any, Any, Any, float, Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True, slots=True)
class BertParts:
    """The modules a forward pass goes through (torch modules, int8-quantised or not)."""

    word: Any  #: word embeddings
    position: Any  #: position embeddings
    token_type: Any  #: token type embeddings
    norm: Any  #: the embeddings' layer norm
    heads: int  #: attention heads
    layers: tuple[Layer, ...]


def bert_vector(parts: BertParts, ids: Any, types: Any | None) -> Any:
    """The L2-normalised mean of the last hidden states (float32 numpy) of one unpadded sequence.

    Args:
        ids: int64 tensor (1, tokens).
        types: token type IDs like ``ids``, or None for zeros.
    Call under ``torch.inference_mode``.
    """
    import torch
    from torch.nn.functional import normalize, scaled_dot_product_attention

    n = ids.shape[1]
    positions = torch.arange(n, dtype=torch.long).unsqueeze(0)
    x = parts.word(ids) + parts.token_type(types if types is not None else torch.zeros_like(ids))
    x = parts.norm(x + parts.position(positions))
    shape = (1, n, parts.heads, x.shape[-1] // parts.heads)
    for query, key, value, scale, dense, norm, inner, act, outer, out_norm in parts.layers:
        context = scaled_dot_product_attention(
            query(x).view(shape).transpose(1, 2), key(x).view(shape).transpose(1, 2),
            value(x).view(shape).transpose(1, 2), attn_mask=None, dropout_p=0.0, scale=scale, is_causal=False)
        context = context.transpose(1, 2).contiguous().reshape(1, n, -1).contiguous()
        x = norm(dense(context) + x)
        x = out_norm(outer(act(inner(x))) + x)
    weights = torch.ones((1, n, 1), dtype=x.dtype)
    mean = (x * weights).sum(dim=1) / torch.clamp(weights.sum(dim=1), min=1e-9)
    return normalize(mean, p=2, dim=-1)[0].numpy()


def light_model_config(folder: Path) -> dict[str, Any] | None:
    """The BERT config (config.json) of a sentence-transformers folder `LightBert` can load, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in sorted(modules, key=lambda m: m["idx"])]
        if kinds != ["Transformer", "Pooling", "Normalize"] or modules[0].get("path", "") != "":
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        options = json.loads((folder / "sentence_bert_config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
    other_pooling = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v
                     and k != "pooling_mode_mean_tokens"]
    supported = (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
                 and config.get("position_embedding_type", "absolute") == "absolute"
                 and not config.get("is_decoder", False) and pooling.get("pooling_mode_mean_tokens") is True
                 and not other_pooling
                 and not options.get("do_lower_case", False)
                 and (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file())
    return config if supported else None


class LightBert:
    """The tokenizer and layers of a supported model folder, loaded without sentence-transformers."""

    def __init__(self, folder: Path, config: dict[str, Any], max_tokens: int, quantize: bool) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self.dim = int(config["hidden_size"])  #: vector dimension
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        weights = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

        def tensor(name: str) -> Any:
            return weights[prefix + name]

        def embedding(name: str) -> Any:
            return torch.nn.Embedding.from_pretrained(tensor(f"{name}.weight"), freeze=True)

        def layer_norm(name: str) -> Any:
            weight = tensor(f"{name}.weight")
            norm = torch.nn.LayerNorm(weight.shape[0], eps=float(config.get("layer_norm_eps", 1e-12)))
            norm.weight.data.copy_(weight)
            norm.bias.data.copy_(tensor(f"{name}.bias"))
            return norm

        def linear(name: str) -> Any:
            weight = tensor(f"{name}.weight")
            module = torch.nn.Linear(weight.shape[1], weight.shape[0])
            module.weight.data.copy_(weight)
            module.bias.data.copy_(tensor(f"{name}.bias"))
            return module

        heads = int(config["num_attention_heads"])
        scale = (self.dim // heads) ** -0.5
        dense_names = ("attention.self.query", "attention.self.key", "attention.self.value",
                       "attention.output.dense", "intermediate.dense", "output.dense")
        dense = torch.nn.ModuleList(linear(f"encoder.layer.{i}.{name}")
                                    for i in range(int(config["num_hidden_layers"])) for name in dense_names)
        if quantize:
            dense = quantize_linear(dense, inplace=True)  # the container is ours: no copy (~0.2-0.6 s)
        gelu = torch.nn.GELU()
        layers = []
        for i in range(int(config["num_hidden_layers"])):
            q, k, v, out, inner, outer = dense[6 * i:6 * i + 6]
            layers.append((q, k, v, scale, out, layer_norm(f"encoder.layer.{i}.attention.output.LayerNorm"),
                           inner, gelu, outer, layer_norm(f"encoder.layer.{i}.output.LayerNorm")))
        self.parts = BertParts(embedding("embeddings.word_embeddings"), embedding("embeddings.position_embeddings"),
                               embedding("embeddings.token_type_embeddings"), layer_norm("embeddings.LayerNorm"),
                               heads, tuple(layers))

    def __call__(self, text: str) -> Any:
        """The normalised vector (float32 numpy) of ``text``; call under ``torch.inference_mode``."""
        import torch

        encoding = self._tokenizer.encode(text)
        ids = torch.tensor([encoding.ids], dtype=torch.long)
        types = torch.tensor([encoding.type_ids], dtype=torch.long)
        return bert_vector(self.parts, ids, types)


def quantize_linear(model: Any, inplace: bool = False) -> Any:
    """``model`` (a copy, unless ``inplace``) with its Linear layers swapped for dynamically
    int8-quantised ones (torch's fbgemm kernels)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch announces the move of this API to torchao
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=inplace)
