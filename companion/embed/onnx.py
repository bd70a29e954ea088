"""The int8 embedding backend: the model exported locally to ONNX, quantized, run by ONNX Runtime.

On two CPU cores the fp32 transformer is compute-bound, so the way to embed faster is less work per
token. This backend exports the sentence-transformers model's transformer from its own local weights
(`torch.onnx.export`, nothing downloaded), quantizes its weights to int8 per output channel
(ONNX Runtime's dynamic quantization: activations are quantized on the fly), and runs it with ONNX
Runtime. Tokenization uses the model's `tokenizer.json` through `tokenizers`, and pooling and
normalization follow the model's own `1_Pooling/config.json`, so only the transformer changes.

The export runs once per model and is cached under the user's cache folder (`COMPANION_CACHE_DIR`,
else `$XDG_CACHE_HOME/companion`, else `~/.cache/companion`), written to a temporary name and
renamed into place so concurrent processes never see half a file. After that, loading needs neither
torch nor transformers: a daemon starts faster and holds far less memory.

Measured in docs/benchmarks.md: about 1.8-1.9x the fp32 throughput on the reference machine, with
SciFact dev nDCG@10 within the 0.005 the project allows for a faster default.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion.embed.base import ONNX_EXPORT_VERSION as EXPORT_VERSION
from companion.embed.base import ModelEmbedder, ModelInfo
from companion.errors import ModelError

OPSET = 17
_POOLING_MODES = ("mean", "cls")


def cache_root() -> Path:
    explicit = os.environ.get("COMPANION_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "companion"


_SUPPORTED_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}


def pooling_mode(folder: Path) -> str:
    """'mean' or 'cls', from the model's pooling config (mean when the folder has none).

    The int8 path reproduces a transformer, one pooling and normalization; a model with more
    (a Dense layer, several pooling modes) is refused rather than given different vectors."""
    unsupported = (
        "the int8 backend runs a transformer with one mean or CLS pooling only; "
        "set COMPANION_EMBED_BACKEND=torch for this model"
    )
    modules_file = folder / "modules.json"
    try:
        modules = (
            json.loads(modules_file.read_text(encoding="utf-8")) if modules_file.is_file() else []
        )
        kinds = {str(m.get("type", "")) for m in modules}
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"{modules_file}: unreadable ({exc})") from exc
    if kinds - _SUPPORTED_MODULES:
        raise ModelError(
            f"{folder}: {', '.join(sorted(kinds - _SUPPORTED_MODULES))}: {unsupported}"
        )
    path = folder / "1_Pooling" / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable pooling config ({exc})") from exc
    modes = {
        key.removeprefix("pooling_mode_")
        for key, on in config.items()
        if key.startswith("pooling_mode_") and on is True
    } or {"mean_tokens"}
    if modes == {"cls_token"}:
        return "cls"
    if modes == {"mean_tokens"}:
        return "mean"
    raise ModelError(f"{path}: pooling {', '.join(sorted(modes))}: {unsupported}")


def exported_model_path(info: ModelInfo) -> Path:
    """Where the quantized export of `info`'s model lives (whether or not it exists yet)."""
    key = hashlib.sha256(f"{info.fingerprint}|{EXPORT_VERSION}|opset{OPSET}".encode()).hexdigest()
    return cache_root() / "onnx" / key[:20] / "model-int8.onnx"


def export_int8(folder: Path, target: Path) -> None:
    """Export the transformer in `folder` to ONNX and quantize it to int8 at `target`."""
    import logging
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    unique = uuid.uuid4().hex  # two exports at once (processes or threads) never share a file
    fp32 = target.with_name(f".{target.stem}.{unique}.fp32.onnx")
    partial = target.with_name(f".{target.stem}.{unique}.partial.onnx")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        model = AutoModel.from_pretrained(str(folder)).eval()
        accepted = inspect.signature(model.forward).parameters
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]
        sample = {n: torch.ones((2, 8), dtype=torch.int64) for n in names}

        class LastHiddenState(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                out = self.inner(**dict(zip(names, inputs, strict=True)))
                return out.last_hidden_state  # type: ignore[no-any-return]

        axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer chatter
            torch.onnx.export(
                LastHiddenState(model),
                tuple(sample[n] for n in names),
                str(fp32),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # the quantizer's advice to pre-process is not the user's
            try:
                quantize_dynamic(
                    str(fp32),
                    str(partial),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    nodes_to_exclude=_ffn_down_projections(fp32),
                )
            finally:
                root.setLevel(level)
        os.replace(partial, target)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(
            f"cannot export {folder} to ONNX int8 ({type(exc).__name__}: {exc}); "
            "set COMPANION_EMBED_BACKEND=torch to embed with sentence-transformers instead"
        ) from exc
    finally:
        for leftover in (fp32, partial, fp32.with_name(fp32.name + ".data")):
            with contextlib.suppress(OSError):  # nothing to remove where nothing could be made
                leftover.unlink(missing_ok=True)


def _ffn_down_projections(model_path: Path) -> list[str]:
    """The feed-forward down-projections (BERT-style `…/output/dense/MatMul`, not the attention
    output): their input is the GELU output, whose wide range int8 per-tensor scaling handles
    worst. Kept in fp32 they halve the error (mean cosine to fp32 0.9949 -> 0.9976) for ~20% of
    the int8 speed-up; with them quantized, SciFact dev vector nDCG@10 dropped by 0.009."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return [
        n.name
        for n in graph.node
        if n.op_type == "MatMul"
        and n.name.endswith("/output/dense/MatMul")
        and "attention" not in n.name
    ]


def _pad_token(folder: Path) -> str:
    try:
        tokens = json.loads((folder / "special_tokens_map.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "[PAD]"
    pad = tokens.get("pad_token", "[PAD]")
    return str(pad.get("content", "[PAD]") if isinstance(pad, dict) else pad)


class OnnxInt8Embedder(ModelEmbedder):
    """The `Embedder` protocol over ONNX Runtime; loads (exporting first if needed) on first use.
    `batch_size` is accepted for the protocol's sake: texts are embedded one at a time."""

    def __init__(self, info: ModelInfo, batch_size: int = 32) -> None:
        super().__init__(info, batch_size)
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: list[str] = []
        self._pooling = "mean"
        self._load_lock = threading.Lock()

    def load(self) -> None:
        with self._load_lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(self.info.location)
        tokenizer_file = folder / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise ModelError(
                f"{folder}: no tokenizer.json; the int8 backend needs a fast tokenizer. "
                "Set COMPANION_EMBED_BACKEND=torch for this model."
            )
        self._pooling = pooling_mode(folder)
        path = exported_model_path(self.info)
        if not path.is_file():
            export_int8(folder, path)
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # As sentence-transformers: truncate at the model's window, pad to the longest in the
        # batch (tokenizer.json often carries a fixed 128-token padding of its own).
        tokenizer.enable_truncation(max_length=self.window)
        pad = (tokenizer.padding or {}).get("pad_token") or _pad_token(folder)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers are not the user's
        # No busy-waiting after a run: on 2 cores the spinning threads starved whatever came next
        # (the in-memory KNN right after a query embedding ran 2x slower).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a truncated or foreign file in the cache: export again
            path.unlink(missing_ok=True)
            export_int8(folder, path)
            try:
                session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
            except Exception as again:
                raise ModelError(f"cannot load {path}: {again}") from exc
        self._inputs = [i.name for i in session.get_inputs()]
        self._tokenizer = tokenizer
        self._session = session

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One text per model run. Dynamic quantization scales activations per run, so in a batch
        a chunk's vector would depend on its neighbours (cosine ~0.995 to its vector alone); run
        alone, a vector is a function of its text only, whatever else is being embedded. On the
        reference machine this costs nothing: no padding, and 37 chunks/s alone vs 36-41 in
        batches of 4-32."""
        if self._session is None:
            self.load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._run([text.strip()])[0]  # stripped, as sentence-transformers does
        return out
