"""Build an openai-whisper checkpoint from a CTranslate2 Whisper model (the bundled tiny.en).

The CTranslate2 weights are OpenAI's, renamed and with attention projections fused: self-attention's query,
key and value are one matrix (`linear_0`), cross-attention's key and value another (`attention/linear_1`), and
the key parts carry a zero bias that openai-whisper does not have. This module reads CTranslate2's model.bin
(binary format 6, written by ctranslate2.specs.model_spec.ModelSpec._serialize), splits what was fused, and
saves the `{"dims", "model_state_dict"}` file that `whisper.load_model(path)` reads. It needs torch, which only
the `openai` extra installs.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from pipeline import fsutil
from pipeline.errors import CaptionError

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def _string(handle: BinaryIO) -> str:
    (length,) = struct.unpack("<H", handle.read(2))
    return handle.read(length)[:-1].decode("utf-8")


def read_ctranslate2(model_bin: Path) -> dict[str, np.ndarray[Any, Any]]:
    """Every variable of a CTranslate2 model.bin, by name, aliases resolved."""
    variables: dict[str, np.ndarray[Any, Any]] = {}
    with model_bin.open("rb") as handle:
        (version,) = struct.unpack("<I", handle.read(4))
        if version != 6:
            raise CaptionError(f"{model_bin}: CTranslate2 model format {version}; only format 6 can be converted")
        _string(handle)  # the spec name, WhisperSpec
        handle.read(4)  # its revision
        (count,) = struct.unpack("<I", handle.read(4))
        for _ in range(count):
            name = _string(handle)
            (rank,) = struct.unpack("<B", handle.read(1))
            shape = struct.unpack(f"<{rank}I", handle.read(4 * rank))
            dtype_id, size = struct.unpack("<BI", handle.read(5))
            if dtype_id not in _DTYPES:
                raise CaptionError(f"{model_bin}: {name} has data type {dtype_id}, which cannot be converted")
            variables[name] = np.frombuffer(handle.read(size), dtype=_DTYPES[dtype_id]).reshape(shape)
        (aliases,) = struct.unpack("<I", handle.read(4))
        for _ in range(aliases):
            alias, target = _string(handle), _string(handle)
            variables[alias] = variables[target]
    return variables


def _linear(state: dict[str, Any], target: str, weight: Any, bias: Any | None) -> None:
    state[f"{target}.weight"] = weight
    if bias is not None:
        state[f"{target}.bias"] = bias


def _norm(state: dict[str, Any], target: str, ct2: dict[str, Any], source: str) -> None:
    state[f"{target}.weight"] = ct2[f"{source}/gamma"]
    state[f"{target}.bias"] = ct2[f"{source}/beta"]


def _block(state: dict[str, Any], ct2: dict[str, Any], side: str, index: int, width: int) -> None:
    src, dst = f"{side}/layer_{index}", f"{side}.blocks.{index}"
    qkv_w, qkv_b = ct2[f"{src}/self_attention/linear_0/weight"], ct2[f"{src}/self_attention/linear_0/bias"]
    _linear(state, f"{dst}.attn.query", qkv_w[:width], qkv_b[:width])
    _linear(state, f"{dst}.attn.key", qkv_w[width:2 * width], None)
    _linear(state, f"{dst}.attn.value", qkv_w[2 * width:], qkv_b[2 * width:])
    _linear(state, f"{dst}.attn.out", ct2[f"{src}/self_attention/linear_1/weight"],
            ct2[f"{src}/self_attention/linear_1/bias"])
    _norm(state, f"{dst}.attn_ln", ct2, f"{src}/self_attention/layer_norm")
    if side == "decoder":
        _linear(state, f"{dst}.cross_attn.query", ct2[f"{src}/attention/linear_0/weight"],
                ct2[f"{src}/attention/linear_0/bias"])
        kv_w, kv_b = ct2[f"{src}/attention/linear_1/weight"], ct2[f"{src}/attention/linear_1/bias"]
        _linear(state, f"{dst}.cross_attn.key", kv_w[:width], None)
        _linear(state, f"{dst}.cross_attn.value", kv_w[width:], kv_b[width:])
        _linear(state, f"{dst}.cross_attn.out", ct2[f"{src}/attention/linear_2/weight"],
                ct2[f"{src}/attention/linear_2/bias"])
        _norm(state, f"{dst}.cross_attn_ln", ct2, f"{src}/attention/layer_norm")
    _linear(state, f"{dst}.mlp.0", ct2[f"{src}/ffn/linear_0/weight"], ct2[f"{src}/ffn/linear_0/bias"])
    _linear(state, f"{dst}.mlp.2", ct2[f"{src}/ffn/linear_1/weight"], ct2[f"{src}/ffn/linear_1/bias"])
    _norm(state, f"{dst}.mlp_ln", ct2, f"{src}/ffn/layer_norm")


def _layers(ct2: dict[str, Any], side: str) -> int:
    return len({name.split("/")[1] for name in ct2 if re.match(rf"{side}/layer_\d+/", name)})


def openai_state(ct2: dict[str, np.ndarray[Any, Any]]) -> tuple[dict[str, int], dict[str, Any]]:
    """openai-whisper's ModelDimensions and state dict (numpy arrays) for a CTranslate2 Whisper model."""
    width = int(ct2["encoder/conv1/weight"].shape[0])
    dims = {
        "n_mels": int(ct2["encoder/conv1/weight"].shape[1]), "n_vocab": int(ct2["decoder/embeddings/weight"].shape[0]),
        "n_audio_ctx": int(ct2["encoder/position_encodings/encodings"].shape[0]), "n_audio_state": width,
        "n_audio_head": int(ct2["encoder/num_heads"]), "n_audio_layer": _layers(ct2, "encoder"),
        "n_text_ctx": int(ct2["decoder/position_encodings/encodings"].shape[0]), "n_text_state": width,
        "n_text_head": int(ct2["decoder/num_heads"]), "n_text_layer": _layers(ct2, "decoder"),
    }
    state: dict[str, Any] = {}
    for conv in ("conv1", "conv2"):
        _linear(state, f"encoder.{conv}", ct2[f"encoder/{conv}/weight"], ct2[f"encoder/{conv}/bias"])
    state["encoder.positional_embedding"] = ct2["encoder/position_encodings/encodings"]
    for index in range(dims["n_audio_layer"]):
        _block(state, ct2, "encoder", index, width)
    _norm(state, "encoder.ln_post", ct2, "encoder/layer_norm")
    state["decoder.token_embedding.weight"] = ct2["decoder/embeddings/weight"]
    state["decoder.positional_embedding"] = ct2["decoder/position_encodings/encodings"]
    for index in range(dims["n_text_layer"]):
        _block(state, ct2, "decoder", index, width)
    _norm(state, "decoder.ln", ct2, "decoder/layer_norm")
    return dims, state


def convert(model_dir: Path, target: Path) -> Path:
    """Write an openai-whisper checkpoint for the CTranslate2 model in `model_dir` to `target` (atomically)."""
    try:
        import torch
    except ImportError as exc:
        raise CaptionError('[captions] engine = "openai-whisper" needs the openai extra: '
                           "`.venv/bin/pip install -e '.[openai]'` (or `make install-openai`)") from exc
    dims, state = openai_state(read_ctranslate2(model_dir / "model.bin"))
    tensors = {name: torch.from_numpy(np.array(value, dtype=np.float32)) for name, value in state.items()}
    with fsutil.atomic_file(target) as partial:
        torch.save({"dims": dims, "model_state_dict": tensors}, str(partial))
    return target
