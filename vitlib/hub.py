"""Loading real pretrained checkpoints into :class:`vitlib.ViT` (notebook 08).

Two layouts are read:

- **timm**'s ``VisionTransformer`` (``patch_embed.proj``, ``cls_token``,
  ``pos_embed``, ``blocks.i.*``, ``norm``, ``head``): the names vitlib uses,
  so the state dict loads unchanged with ``strict=True``.
- **Hugging Face** ``transformers`` ViT, in both of its namings: the classic
  one that ``save_pretrained`` writes and the Hub stores
  (``vit.encoder.layer.i.attention.attention.query``, ...) and the one that
  transformers 5 uses in memory (``vit.layers.i.attention.q_proj``, ...),
  with or without the ``vit.`` prefix (``ViTForImageClassification`` or a
  bare ``ViTModel``). Its separate query, key and value projections are
  stacked into timm's one ``qkv`` (rows q | k | v).

Files are ``.safetensors`` (plain tensors, nothing to execute) or
``.pt``/``.pth``/``.bin``, read with ``torch.load(weights_only=True)``, which
refuses to unpickle anything but tensors and plain containers.

What shapes cannot tell is said explicitly: the number of heads (from an
HF ``config.json`` next to the file, an argument, or the standard sizes of the
ViT paper), LayerNorm's eps (1e-6 in timm, 1e-12 in HF: it changes the numbers)
and how to resample the position table for another image size
(:data:`RESIZE_DEFAULTS`: both libraries use bicubic, timm with antialias, HF
without).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file as load_safetensors

from . import checks
from .checks import int_pair, positive_float, positive_int
from .embedding import resize_pos_embed
from .model import PRESETS, ViT, ViTConfig
from .patches import grid_size

try:  # optional: it comes with transformers; without it, download_checkpoint says so
    from huggingface_hub import constants as hf_constants
    from huggingface_hub import errors as hf_errors
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
except ImportError:  # pragma: no cover - depends on the environment
    hf_hub_download = try_to_load_from_cache = None

__all__ = [
    "RESIZE_DEFAULTS",
    "STANDARD_HEADS",
    "CheckpointMismatchError",
    "DownloadError",
    "check_state_dict",
    "detect_layout",
    "download_checkpoint",
    "from_hf_state_dict",
    "infer_config",
    "load_checkpoint",
    "load_reference_model",
    "load_shipped",
    "read_checkpoint",
    "vit_from_transformers",
]

#: How each library resamples a position table for another grid, so that a
#: resized model matches the library its checkpoint came from:
#: timm's ``resample_abs_pos_embed`` (bicubic, antialias=True) and
#: transformers' ``ViTEmbeddings.interpolate_pos_encoding`` (bicubic, no antialias).
RESIZE_DEFAULTS = {
    "timm": {"interpolation": "bicubic", "antialias": True},
    "hf": {"interpolation": "bicubic", "antialias": False},
}

#: LayerNorm eps of each library (HF's ViTConfig.layer_norm_eps defaults to 1e-12).
EPS_DEFAULTS = {"timm": 1e-6, "hf": 1e-12}

#: Heads of the standard ViT widths (ViT paper, DeiT): shapes cannot tell the
#: head count, and ViT-H (1280 = 16 heads of 80) breaks the "64 per head" rule.
STANDARD_HEADS = {192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16}

_SUFFIXES_PICKLE = (".pt", ".pth", ".bin", ".ckpt")


class CheckpointMismatchError(ValueError):
    """A state dict that does not fit the model, key by key.

    ``missing``: keys the model has and the checkpoint lacks; ``unexpected``:
    the reverse; ``wrong_shape``: ``(key, checkpoint shape, model shape)``.
    """

    def __init__(self, *, missing=(), unexpected=(), wrong_shape=(), wrong_dtype=(), sources=None, hint: str = ""):
        self.missing, self.unexpected, self.wrong_shape = list(missing), list(unexpected), list(wrong_shape)
        self.wrong_dtype = list(wrong_dtype)
        sources = sources or {}

        def name(key: str) -> str:
            return f"{key} (from {sources[key]})" if key in sources else key

        lines = ["the checkpoint does not fit the model:"]
        lines += [f"  missing from the checkpoint: {name(k)}" for k in self.missing]
        lines += [f"  unexpected in the checkpoint: {name(k)}" for k in self.unexpected]
        lines += [
            f"  wrong shape: {name(k)}: checkpoint {tuple(got)}, model {tuple(want)}"
            for k, got, want in self.wrong_shape
        ]
        lines += [
            f"  wrong dtype: {name(k)}: checkpoint {got}, model {want} (integer or bool values are not weights)"
            for k, got, want in self.wrong_dtype
        ]
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------- reading files


def _unwrap(obj, origin: str) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}``: unwraps ``{"model": sd}`` / ``{"state_dict": sd}`` and DDP's ``module.``."""
    if not isinstance(obj, dict):
        raise TypeError(f"{origin} holds a {type(obj).__name__}, not a state dict (a dict of tensors).")
    if not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for wrapper in ("state_dict", "model", "module"):  # training scripts save {"model": sd, "epoch": ...}
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{origin}: entry {key!r} is a {type(value).__name__}, not a tensor.")
    return dict(obj)


def _unreadable(path: Path, what: str, error: Exception) -> ValueError:
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    size = path.stat().st_size if path.exists() else 0
    state = "it is empty (0 bytes)" if size == 0 else f"it is {size} bytes"
    return ValueError(
        f"cannot read {path.name} ({path}): not a valid {what}; {state} ({detail}). It may be truncated "
        f"(an unfinished download) or another kind of file under this name: download or save it again."
    )


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        try:
            return load_safetensors(str(path), device="cpu")
        except (SafetensorError, OSError) as error:
            raise _unreadable(path, ".safetensors file", error) from error
    if path.suffix in _SUFFIXES_PICKLE:
        try:
            # weights_only=True: only tensors and plain containers; a pickle that
            # would run code (a __reduce__ calling os.system, ...) is refused.
            return _unwrap(torch.load(path, map_location="cpu", weights_only=True), str(path))
        except (EOFError, RuntimeError, OSError) as error:  # empty, truncated, or not a torch file at all
            raise _unreadable(path, "torch state dict", error) from error
        except pickle.UnpicklingError as error:
            raise ValueError(
                f"refused to load {path}: it is not a plain tensor file, and unpickling it could run arbitrary "
                f"code (torch.load with weights_only=True rejected it: {str(error).splitlines()[0]}). "
                f"Use a .safetensors file, or re-save the weights from a trusted source as a state dict."
            ) from error
    raise ValueError(
        f"don't know how to read {path.name!r}: expected a .safetensors file or a torch state dict "
        f"({', '.join(_SUFFIXES_PICKLE)})."
    )


def _read_json(file: Path, what: str) -> dict:
    """A JSON object from ``file``; a clear error naming the file if it is not JSON or not an object."""
    try:
        value = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{file.name} ({file}) is not valid JSON ({error}); {what}: download or write it again."
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"{file.name} ({file}) holds a JSON {type(value).__name__}, not an object ({{...}}); {what}.")
    return value


def _shard_paths(index: Path) -> list[Path]:
    """The shard files a ``*.index.json`` names, each checked to lie inside the index's folder.

    A shard path that is absolute or climbs out with ``..`` is refused: a checkpoint
    folder must never make vitlib read files outside itself.
    """
    data = _read_json(index, "it should map each weight to its shard file")
    weight_map = data.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise ValueError(f'{index.name} ({index}) has no "weight_map" object naming the shard files.')
    folder = index.parent.resolve()
    shards = []
    for name in sorted(set(map(str, weight_map.values()))):
        relative = Path(name)
        target = (folder / relative).resolve()
        if relative.is_absolute() or ".." in relative.parts or not target.is_relative_to(folder):
            raise ValueError(
                f"refused shard {name!r} named in {index.name} ({index}): a shard must be a file inside the "
                "checkpoint's folder, not an absolute path or one with '..'. The index is corrupt or malicious."
            )
        if not target.is_file():
            raise FileNotFoundError(
                f"{index.name} ({index}) names the shard {name!r}, which is not in the folder: download the "
                "checkpoint again, every file of it."
            )
        shards.append(target)
    return shards


def read_checkpoint(path) -> tuple[dict[str, torch.Tensor], dict]:
    """A checkpoint file or folder -> ``(state dict, config.json dict or {})``.

    ``path`` is a ``.safetensors`` / ``.pt`` / ``.pth`` / ``.bin`` file or a
    folder holding ``model.safetensors`` (a sharded ``*.index.json`` too) or
    ``pytorch_model.bin``. A ``config.json`` beside the weights (as
    ``save_pretrained`` and the Hub write it) is returned too.

    Empty, truncated or mislabelled files, a ``config.json`` that is not a JSON
    object, and shard paths outside the folder raise ``ValueError`` naming the file.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; give a .safetensors/.pt/.bin file or a folder holding one.")
    folder = path if path.is_dir() else path.parent
    if path.is_dir():
        index = path / "model.safetensors.index.json"
        candidates = [path / "model.safetensors", path / "pytorch_model.bin"]
        if index.exists():
            state = {}
            for shard in _shard_paths(index):
                state.update(_load_file(shard))
        elif found := [c for c in candidates if c.exists()]:
            state = _load_file(found[0])
        else:
            raise FileNotFoundError(f"{path} holds neither model.safetensors nor pytorch_model.bin.")
    else:
        state = _load_file(path)
    config_file = folder / "config.json"
    config = _read_json(config_file, "it should describe the model") if config_file.exists() else {}
    return _unwrap(state, str(path)), config


# --------------------------------------------------------------------------- layouts


def detect_layout(state_dict) -> str:
    """``"timm"`` or ``"hf"`` from the names of a state dict's keys."""
    keys = list(state_dict)
    if any(k == "patch_embed.proj.weight" or k.startswith("blocks.") for k in keys):
        return "timm"
    if any(re.match(r"^(vit\.)?embeddings\.patch_embeddings\.projection\.", k) for k in keys):
        return "hf"
    shown = ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
    raise ValueError(
        f"this state dict is neither timm's ViT layout (patch_embed.proj.weight, blocks.0...) nor Hugging Face's "
        f"(vit.embeddings.patch_embeddings...); its keys: {shown}."
    )


# One rule per HF name: (regex on the name without "vit.", timm name). Both the
# classic names (on the Hub) and transformers 5's in-memory names are listed.
_LAYER = r"(?:encoder\.layer|layers)\.(\d+)\."  # classic | transformers 5
_HF_RULES = [
    (r"embeddings\.cls_token", "cls_token"),
    (r"embeddings\.position_embeddings", "pos_embed"),
    (r"embeddings\.patch_embeddings\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
    (_LAYER + r"layernorm_before\.(weight|bias)", r"blocks.\1.norm1.\2"),
    (_LAYER + r"layernorm_after\.(weight|bias)", r"blocks.\1.norm2.\2"),
    (_LAYER + r"attention\.(?:attention\.query|q_proj)\.(weight|bias)", r"blocks.\1.attn.q.\2"),
    (_LAYER + r"attention\.(?:attention\.key|k_proj)\.(weight|bias)", r"blocks.\1.attn.k.\2"),
    (_LAYER + r"attention\.(?:attention\.value|v_proj)\.(weight|bias)", r"blocks.\1.attn.v.\2"),
    (_LAYER + r"attention\.(?:output\.dense|o_proj)\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
    (_LAYER + r"(?:intermediate\.dense|mlp\.fc1)\.(weight|bias)", r"blocks.\1.mlp.fc1.\2"),
    (_LAYER + r"(?:output\.dense|mlp\.fc2)\.(weight|bias)", r"blocks.\1.mlp.fc2.\2"),
    (r"layernorm\.(weight|bias)", r"norm.\1"),
    (r"classifier\.(weight|bias)", r"head.\1"),
]
# Parts of HF models that vitlib.ViT does not have; they never change its outputs.
_HF_DROPPED = {
    r"pooler\.dense\.(weight|bias)": "ViTModel's tanh pooler (vitlib reads the [CLS] token directly)",
    r"embeddings\.mask_token": "the [MASK] token of masked-image-modelling models",
}


def _convert_hf(state_dict) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """HF names -> timm names, and for each timm name the HF key(s) it came from."""
    out, sources, unexpected, dropped = {}, {}, [], []
    for key, value in state_dict.items():
        short = key.removeprefix("vit.")
        if any(re.fullmatch(pattern, short) for pattern in _HF_DROPPED):
            dropped.append(key)
            continue
        for pattern, target in _HF_RULES:
            if re.fullmatch(pattern, short):
                name = re.sub(pattern, target, short)
                out[name], sources[name] = value, key
                break
        else:
            unexpected.append(key)
    if unexpected:
        raise CheckpointMismatchError(
            unexpected=unexpected,
            hint="These Hugging Face keys have no counterpart in vitlib.ViT (is it a ViT checkpoint? DeiT's "
            "distillation token, BEiT or ViTMAE's decoder are not supported).",
        )
    if dropped:
        short = [k.removeprefix("vit.") for k in dropped]
        reasons = sorted({why for k in short for p, why in _HF_DROPPED.items() if re.fullmatch(p, k)})
        warnings.warn(f"dropped {', '.join(dropped)}: {'; '.join(reasons)}.", stacklevel=3)
    # Stack the separate q, k, v projections into timm's fused qkv (rows q | k | v).
    blocks = sorted({int(m.group(1)) for k in out if (m := re.match(r"blocks\.(\d+)\.attn\.[qkv]\.", k))})
    for i in blocks:
        for part in ("weight", "bias"):
            names = [f"blocks.{i}.attn.{p}.{part}" for p in "qkv"]
            present = [n for n in names if n in out]
            if not present:
                continue
            if len(present) < 3:
                missing = [_sibling(sources[present[0]], p) for p, n in zip("qkv", names, strict=True) if n not in out]
                raise CheckpointMismatchError(missing=missing, hint=f"layer {i} needs query, key and value.")
            tensors = [out.pop(n) for n in names]
            for n, t in zip(names[1:], tensors[1:], strict=True):
                if t.shape != tensors[0].shape:
                    raise CheckpointMismatchError(
                        wrong_shape=[(sources[n], t.shape, tensors[0].shape)],
                        hint=f"query, key and value of layer {i} must have the same shape.",
                    )
            fused = f"blocks.{i}.attn.qkv.{part}"
            out[fused] = torch.cat(tensors, dim=0)
            sources[fused] = " + ".join(sources.pop(n) for n in names)
    return out, sources


def _sibling(key: str, part: str) -> str:
    """The HF name of the query (``part="q"``), key or value beside ``key``, in the same naming."""
    classic = {"q": "query", "k": "key", "v": "value"}[part]
    key = re.sub(r"attention\.attention\.(query|key|value)\.", f"attention.attention.{classic}.", key)
    return re.sub(r"attention\.[qkv]_proj\.", f"attention.{part}_proj.", key)


def from_hf_state_dict(state_dict) -> dict[str, torch.Tensor]:
    """A Hugging Face ViT state dict (either naming, ``vit.`` prefix or not) in timm's layout.

    ``query``/``key``/``value`` (each ``(D, D)``) become one ``qkv`` ``(3D, D)``;
    the pooler and the mask token, which vitlib's ViT does not have, are
    dropped with a warning; any other unknown key raises
    :class:`CheckpointMismatchError` naming it.
    """
    return _convert_hf(state_dict)[0]


# --------------------------------------------------------------------------- configuration


def _heads_for(embed_dim: int) -> int:
    if embed_dim in STANDARD_HEADS:
        return STANDARD_HEADS[embed_dim]
    if embed_dim % 64 == 0:
        warnings.warn(
            f"guessed num_heads={embed_dim // 64} for embed_dim {embed_dim} (64 channels per head); "
            f"shapes cannot tell: pass num_heads= if the checkpoint used another count.",
            stacklevel=3,
        )
        return embed_dim // 64
    raise ValueError(
        f"cannot infer num_heads for embed_dim {embed_dim} from the weights' shapes (the head count is not stored); "
        f"pass num_heads=... (or a config, or keep HF's config.json next to the weights)."
    )


def infer_config(
    state_dict,
    *,
    num_heads: int | None = None,
    grid=None,
    eps: float = 1e-6,
) -> ViTConfig:
    """The :class:`ViTConfig` of a timm-layout state dict, read from its shapes.

    ``patch_embed.proj.weight`` ``(D, C, P, P)`` gives width, channels and
    patch size; ``pos_embed`` ``(1, 1+N, D)`` the grid (square unless ``grid``
    is given); the ``blocks.i`` count the depth; ``mlp.fc1`` the MLP ratio;
    ``head`` the classes (0 without a head). The head count and eps are not
    in the shapes: ``num_heads`` (default: :data:`STANDARD_HEADS`, else 64
    channels per head) and ``eps`` say them.
    """
    try:
        weight = state_dict["patch_embed.proj.weight"]
        pos = state_dict["pos_embed"]
    except KeyError as error:
        raise CheckpointMismatchError(
            missing=[error.args[0]], hint="cannot infer the configuration without it."
        ) from None
    if weight.dim() != 4 or weight.shape[-1] != weight.shape[-2]:
        raise ValueError(f"patch_embed.proj.weight must be (D, C, P, P); got {tuple(weight.shape)}.")
    d, c, p = weight.shape[0], weight.shape[1], weight.shape[-1]
    n = pos.shape[1] - 1
    if grid is None:
        grid = checks.square_grid(
            n, "pos_embed (after [CLS])", "pass image_size=(H, W) or a config with the checkpoint's image size."
        )
    grid = int_pair(grid, "grid", example=(14, 14))
    if grid[0] * grid[1] != n:
        raise ValueError(f"the grid {grid} has {grid[0] * grid[1]} positions but pos_embed holds {n}.")
    depth = len({int(m.group(1)) for k in state_dict if (m := re.match(r"blocks\.(\d+)\.", k))})
    if "blocks.0.mlp.fc1.weight" not in state_dict:
        raise CheckpointMismatchError(missing=["blocks.0.mlp.fc1.weight"], hint="cannot infer the MLP width.")
    hidden = state_dict["blocks.0.mlp.fc1.weight"].shape[0]
    head = state_dict.get("head.weight")
    image_size = (grid[0] * p, grid[1] * p)
    return ViTConfig(
        image_size=image_size[0] if image_size[0] == image_size[1] else image_size,
        patch_size=p,
        in_chans=c,
        num_classes=0 if head is None else head.shape[0],
        embed_dim=d,
        depth=depth,
        num_heads=_heads_for(d) if num_heads is None else positive_int(num_heads, "num_heads", example=12),
        mlp_ratio=hidden / d,  # round(d * ratio) gives the width back exactly
        qkv_bias="blocks.0.attn.qkv.bias" in state_dict,
        eps=eps,
    )


def _config_from_hf(hf: dict, *, num_classes: int, origin: str = "config.json") -> ViTConfig:
    """A :class:`ViTConfig` from a transformers ``ViTConfig`` (as a dict); errors name ``origin``."""
    missing = [k for k in ("hidden_size", "num_attention_heads", "num_hidden_layers") if k not in hf]
    if missing:
        raise ValueError(f"{origin} lacks {', '.join(missing)}: it does not describe a ViT; write the field(s) in.")
    try:
        return _hf_fields(hf, num_classes)
    except (TypeError, ValueError, ZeroDivisionError) as error:
        raise ValueError(f"{origin} describes no valid ViT: {error}") from None


def _hf_fields(hf: dict, num_classes: int) -> ViTConfig:
    if hf.get("model_type", "vit") != "vit":
        raise ValueError(f"config.json describes model_type={hf['model_type']!r}; vitlib loads plain ViT ('vit') only.")
    if hf.get("hidden_act", "gelu") != "gelu":
        raise ValueError(
            f"the checkpoint uses hidden_act={hf['hidden_act']!r}; vitlib's MLP uses exact GELU ('gelu'), "
            f"so the numbers would differ."
        )
    d = positive_int(hf["hidden_size"], "hidden_size", example=768)
    heads = positive_int(hf["num_attention_heads"], "num_attention_heads", example=12)
    if hf.get("head_dim") not in (None, d // heads) or d % heads:
        raise ValueError(f"hidden_size {d} with {heads} heads of head_dim {hf.get('head_dim')} is not a standard ViT.")
    hidden = positive_int(hf.get("intermediate_size", 4 * d), "intermediate_size", example=4 * d)
    size = hf.get("image_size", 224)
    size = size if isinstance(size, int) else tuple(size)
    return ViTConfig(
        image_size=size,
        patch_size=hf.get("patch_size", 16),
        in_chans=hf.get("num_channels", 3),
        num_classes=num_classes,
        embed_dim=d,
        depth=hf["num_hidden_layers"],
        num_heads=heads,
        mlp_ratio=hidden / d,
        qkv_bias=hf.get("qkv_bias", True),
        eps=positive_float(hf.get("layer_norm_eps", EPS_DEFAULTS["hf"]), "layer_norm_eps", example=1e-12),
    )


# --------------------------------------------------------------------------- loading


def _checkpoint_grid(state, hf_config: dict) -> tuple[int, int] | None:
    """The patch grid the checkpoint's position table was trained for (``None`` if it cannot tell)."""
    table = state.get("pos_embed")
    if table is None or table.dim() != 3:
        return None
    n = table.shape[1] - 1
    if "image_size" in hf_config and "patch_size" in hf_config:
        size = hf_config["image_size"]
        grid = grid_size(tuple(size) if isinstance(size, list) else size, hf_config["patch_size"])
    else:
        try:
            grid = checks.square_grid(n, "pos_embed", "")
        except ValueError:
            return None
    return grid if grid[0] * grid[1] == n else None


def check_state_dict(model: torch.nn.Module, state_dict, *, sources=None) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state_dict`` fits ``model`` exactly.

    Names and shapes must match; floating-point weights may come in another float
    dtype (converted on loading), but integer or bool tensors are refused.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"state dict entry {key!r} is a {type(value).__name__}, not a tensor.")
    wrong = [
        (k, state_dict[k].shape, v.shape) for k, v in own.items() if k in state_dict and state_dict[k].shape != v.shape
    ]
    # Floating-point weights of another precision (fp16, bf16, fp64) load converted; integer or bool tensors
    # would be cast silently into meaningless weights, so they are refused.
    wrong_dtype = [
        (k, state_dict[k].dtype, v.dtype)
        for k, v in own.items()
        if k in state_dict and v.is_floating_point() and not state_dict[k].is_floating_point()
    ]
    broken = [k for k, v in state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        shown = ", ".join(
            f"{k} ({int((~torch.isfinite(state_dict[k])).sum()):,} of {state_dict[k].numel():,})" for k in broken[:8]
        )
        raise ValueError(
            f"the checkpoint holds NaN or infinite weights in {len(broken)} tensor(s): {shown}"
            f"{', ...' if len(broken) > 8 else ''}. The file is corrupt or its training diverged: use another one."
        )
    if missing or unexpected or wrong or wrong_dtype:
        raise CheckpointMismatchError(
            missing=missing,
            unexpected=unexpected,
            wrong_shape=wrong,
            wrong_dtype=wrong_dtype,
            sources=sources,
            hint="Fix: load it with a config that matches it (or none, to infer one from the shapes), "
            "or repair the keys named above.",
        )


def load_checkpoint(
    source,
    *,
    config: ViTConfig | None = None,
    num_heads: int | None = None,
    image_size=None,
    interpolation: str | None = None,
    antialias: bool | None = None,
) -> ViT:
    """A :class:`vitlib.ViT` holding a checkpoint's weights, in eval mode.

    ``source`` is a file or folder (see :func:`read_checkpoint`) or a state
    dict, in timm's or Hugging Face's layout (see :func:`detect_layout`). The
    configuration comes from ``config``, else from HF's ``config.json``, else
    from the shapes (:func:`infer_config`; ``num_heads`` is the one thing the
    shapes cannot say). LayerNorm's eps follows the source library (timm
    1e-6, HF 1e-12) unless ``config`` says otherwise.

    ``image_size`` (int or (H, W)) other than the checkpoint's resamples the
    position table to the new patch grid with :func:`vitlib.resize_pos_embed`;
    ``interpolation`` and ``antialias`` default to the source library's own
    (:data:`RESIZE_DEFAULTS`: timm bicubic + antialias, HF bicubic without),
    so the result matches timm's ``resample_abs_pos_embed`` or
    transformers' ``interpolate_pos_encoding=True``.

    Any key that is missing, unexpected or of the wrong shape raises
    :class:`CheckpointMismatchError`, naming every one.
    """
    if num_heads is not None:
        num_heads = positive_int(num_heads, "num_heads", example=12)
    if isinstance(source, dict):
        state, hf_config = _unwrap(source, "the state dict"), {}
    elif isinstance(source, (str, os.PathLike)):
        state, hf_config = read_checkpoint(source)
    else:
        raise TypeError(f"source must be a path or a state dict; got {type(source).__name__}.")
    layout = detect_layout(state)
    sources = None
    if layout == "hf":
        state, sources = _convert_hf(state)
    ckpt_grid = _checkpoint_grid(state, hf_config)
    if config is None:
        if layout == "hf" and "hidden_size" in hf_config:
            head = state.get("head.weight")
            config = _config_from_hf(
                hf_config, num_classes=0 if head is None else head.shape[0], origin=f"config.json beside {source}"
            )
            if num_heads is not None:
                config = replace(config, num_heads=num_heads)
        else:
            config = infer_config(state, num_heads=num_heads, grid=ckpt_grid, eps=EPS_DEFAULTS[layout])
    elif num_heads is not None:
        config = replace(config, num_heads=num_heads)
    if image_size is not None:
        config = replace(config, image_size=image_size)
    new_grid = grid_size(config.image_size, config.patch_size)
    if ckpt_grid is not None and new_grid != ckpt_grid:
        resize = {**RESIZE_DEFAULTS[layout]}
        if interpolation is not None:
            resize["interpolation"] = interpolation
        if antialias is not None:
            resize["antialias"] = antialias
        state = {**state, "pos_embed": resize_pos_embed(state["pos_embed"], new_grid, ckpt_grid, **resize)}
    return _build(config, state, sources)


def _build(config: ViTConfig, state: dict[str, torch.Tensor], sources) -> ViT:
    """The shared tail of both load paths: build, check every key, load strictly, eval mode."""
    model = ViT(config)
    check_state_dict(model, state, sources=sources)
    model.load_state_dict(state, strict=True)
    return model.eval()


def vit_from_transformers(hf_model) -> ViT:
    """A transformers ``ViTModel`` / ``ViTForImageClassification`` as a :class:`vitlib.ViT` (eval mode).

    Same numbers: its config (eps 1e-12 included) is carried over, and
    ``vit.forward_features`` equals ``hf_model(x).last_hidden_state``.
    """
    hf_config = getattr(hf_model, "config", None)
    if hf_config is None or not hasattr(hf_model, "state_dict"):
        raise TypeError(f"expected a transformers ViT model; got {type(hf_model).__name__}.")
    state, sources = _convert_hf(hf_model.state_dict())
    head = state.get("head.weight")
    config = _config_from_hf(
        hf_config.to_dict(), num_classes=0 if head is None else head.shape[0], origin="the model's config"
    )
    return _build(config, state, sources)


class DownloadError(OSError):
    """A checkpoint could not be fetched. ``reason`` says why, for code to act on:

    - ``"not_installed"``: ``huggingface_hub`` is missing;
    - ``"offline"``: ``HF_HUB_OFFLINE=1`` asks for no network, and the files are not in the local cache;
    - ``"unreachable"``: ``huggingface.co`` did not answer within the timeout;
    - ``"failed"``: the Hub answered but the download failed (unknown repository, file or revision, ...).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def download_checkpoint(
    repo_id: str, filename: str = "model.safetensors", *, revision: str = "main", timeout: float = 3.0
) -> Path:
    """Fetch ``filename`` and ``config.json`` of a Hub repository at ``revision``; the local path of the weights.

    ``revision`` pins what is fetched: a branch (default ``"main"``), a tag, or for a reproducible result a
    commit hash. Everything goes through ``huggingface_hub``, so its settings hold (``HF_ENDPOINT``, proxies,
    the cache ``HF_HUB_CACHE``): the cache is used first; with ``HF_HUB_OFFLINE=1`` nothing touches the
    network; otherwise the Hub must answer within ``timeout`` seconds.

    Raises :class:`DownloadError` (an ``OSError``) whose ``reason`` is ``"not_installed"``, ``"offline"``,
    ``"unreachable"`` or ``"failed"``; it never prints. In a notebook::

        try:
            source = hub.download_checkpoint("google/vit-base-patch16-224")
        except hub.DownloadError as error:
            print(error)  # e.g. offline: carry on without pretrained weights
            source = None
    """
    for name, value in (("repo_id", repo_id), ("filename", filename), ("revision", revision)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a non-empty string; got {value!r}.")
    timeout = positive_float(timeout, "timeout", example=3.0)
    where = f"{repo_id}/{filename} at revision {revision!r}"
    if hf_hub_download is None:
        raise DownloadError(
            "not_installed",
            f"huggingface_hub is not installed, so {where} cannot be fetched: `pip install huggingface_hub`.",
        )
    # The settings as they are now (huggingface_hub reads its environment once, when it is imported).
    endpoint = os.environ.get("HF_ENDPOINT") or hf_constants.ENDPOINT
    cache_dir = os.environ.get("HF_HUB_CACHE") or None
    # Already downloaded? A look at the cache folder only: hf_hub_download itself may reach the network even with
    # local_files_only=True (it fetches a registry for its user-agent header unless offline from the start).
    cached = [
        try_to_load_from_cache(repo_id, f, cache_dir=cache_dir, revision=revision) for f in (filename, "config.json")
    ]
    if all(isinstance(c, str) for c in cached):
        return Path(cached[0])
    if _offline():
        raise DownloadError(
            "offline", f"offline (HF_HUB_OFFLINE=1) and {where} is not in the local cache: not downloading."
        )
    fetch = {"revision": revision, "etag_timeout": timeout, "endpoint": endpoint, "cache_dir": cache_dir}
    try:
        path = hf_hub_download(repo_id, filename, **fetch)
        hf_hub_download(repo_id, "config.json", **fetch)
    except hf_errors.LocalEntryNotFoundError as error:  # not cached, and the Hub did not answer
        raise DownloadError(
            "unreachable", f"offline: {endpoint} did not answer within {timeout:g} s; not downloading {where}."
        ) from error
    except Exception as error:  # huggingface_hub's errors (HTTP, unknown repo/revision, disk) have no common base
        raise DownloadError("failed", f"could not download {where}: {type(error).__name__}: {error}") from error
    return Path(path)


#: The trained models that ship inside the package (``tools/train_reference_model.py`` made them): the digits ViT
#: of notebooks 06 and 08 (``digits_vit_p2``), and notebook 10's MAE (``digits_mae_p4``) and ViT on digits placed
#: at random on a 24 x 24 canvas (``translated_digits_vit``).
SHIPPED = Path(__file__).resolve().parent / "weights"


def load_shipped(name: str):
    """A trained ViT that ships with vitlib, and how it was made: ``(model, info)``.

    ``name`` is a file of :data:`SHIPPED` without ``.safetensors``. ``model`` is loaded strictly
    (:func:`load_checkpoint`) into the preset its recipe names, in eval mode; ``info`` is the file's metadata:
    ``recipe`` (a dict: preset, model overrides, digits split, training config), ``test_accuracy`` (a float),
    ``train_seconds`` and ``train_cpu_seconds`` (floats).

    A recipe with an ``"mae"`` entry (``digits_mae_p4``) describes a :class:`vitlib.masking.MaskedAutoencoder`
    whose encoder is that preset: ``model`` is then the whole autoencoder (``model.encoder`` the ViT), loaded
    strictly too, and ``info`` holds ``test_loss`` (its error on the hidden patches of the test digits) instead of
    an accuracy and ``train_loss`` (the loss of every training step, a list).
    """
    names = sorted(path.stem for path in SHIPPED.glob("*.safetensors"))
    path = SHIPPED / f"{checks.choice(name, 'name', names)}.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    recipe = json.loads(meta["recipe"])
    config = replace(PRESETS[recipe["preset"]], **recipe.get("model_overrides", {}))
    numbers = ("test_accuracy", "test_loss", "train_seconds", "train_cpu_seconds")
    info = {"recipe": recipe, **{k: float(meta[k]) for k in numbers if k in meta}}
    if "train_loss" in meta:
        info["train_loss"] = json.loads(meta["train_loss"])
    if "mae" not in recipe:
        return load_checkpoint(path, config=config), info
    from .masking import MaskedAutoencoder  # here: masking is a task built on the core, hub loads it on demand

    model = MaskedAutoencoder(ViT(config), **recipe["mae"])
    state = read_checkpoint(path)[0]
    check_state_dict(model, state)
    model.load_state_dict(state, strict=True)
    return model.eval(), info


def load_reference_model():
    """The inspectable digits ViT of notebooks 06 and 08: ``load_shipped("digits_vit_p2")``.

    A :class:`vitlib.ViT` of the ``digits`` preset (1 x 8 x 8 images, 16 patches of 2 x 2 pixels + [CLS] = 17
    tokens, D = 64, 4 blocks of 4 heads), trained on the digits split its recipe names.
    """
    return load_shipped("digits_vit_p2")
