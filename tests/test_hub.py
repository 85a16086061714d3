"""vitlib.hub: real checkpoint layouts load into vitlib.ViT and give the same numbers."""

import ast
import os
import pickle
import socket
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import vitlib
from vitlib import hub

transformers = pytest.importorskip("transformers")

HF_CONFIG = {
    "image_size": 32,
    "patch_size": 8,
    "hidden_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 96,
    "num_labels": 5,
}


def _hf(kind="classifier", **overrides):
    torch.manual_seed(0)
    config = transformers.ViTConfig(**{**HF_CONFIG, **overrides})
    if kind == "classifier":
        return transformers.ViTForImageClassification(config).eval()
    return transformers.ViTModel(config).eval()


@pytest.fixture(scope="module")
def hf_classifier():
    return _hf("classifier")


@pytest.fixture(scope="module")
def hf_encoder():
    return _hf("encoder")


@pytest.fixture(scope="module")
def saved_classifier(hf_classifier, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf_classifier")
    hf_classifier.save_pretrained(folder)  # classic names + config.json, as on the Hub
    return folder


def _images(h=32, w=32, b=2):
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(1))


def test_save_pretrained_writes_the_classic_names(saved_classifier):
    state, config = hub.read_checkpoint(saved_classifier / "model.safetensors")
    assert "vit.encoder.layer.0.attention.attention.query.weight" in state
    assert config["layer_norm_eps"] == 1e-12


def test_classifier_from_safetensors_gives_the_same_logits(hf_classifier, saved_classifier):
    model = hub.load_checkpoint(saved_classifier / "model.safetensors")
    assert isinstance(model, vitlib.ViT) and not model.training
    assert model.config.eps == 1e-12 and model.config.num_heads == 4 and model.config.num_classes == 5
    x = _images()
    with torch.no_grad():
        expected = hf_classifier(x).logits
        torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=0)
        assert expected.abs().max() > 1e-2  # the comparison is not between two near-zero tensors


def test_bare_encoder_gives_the_same_last_hidden_state(hf_encoder, tmp_path):
    hf_encoder.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match=r"pooler\.dense\.weight"):
        model = hub.load_checkpoint(tmp_path)  # a folder: model.safetensors + config.json
    assert model.config.num_classes == 0
    x = _images()
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), hf_encoder(x).last_hidden_state, atol=1e-5, rtol=0)


def test_in_memory_transformers5_names_load_too(hf_classifier):
    state = hf_classifier.state_dict()
    assert "vit.layers.0.attention.q_proj.weight" in state  # transformers 5's own naming
    model = hub.load_checkpoint(dict(state), num_heads=4, config=None)
    assert model.config.eps == 1e-12  # HF layout -> HF's eps
    x = _images()
    with torch.no_grad():
        torch.testing.assert_close(model(x), hf_classifier(x).logits, atol=1e-5, rtol=0)


def test_vit_from_transformers(hf_classifier, hf_encoder):
    x = _images()
    with torch.no_grad():
        ours = hub.vit_from_transformers(hf_classifier)
        torch.testing.assert_close(ours(x), hf_classifier(x).logits, atol=1e-5, rtol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoder = hub.vit_from_transformers(hf_encoder)
        torch.testing.assert_close(encoder.forward_features(x), hf_encoder(x).last_hidden_state, atol=1e-5, rtol=0)


def test_from_hf_state_dict_stacks_q_k_v_in_timm_order(hf_classifier):
    hf = hf_classifier.state_dict()
    timm = hub.from_hf_state_dict(hf)
    qkv = timm["blocks.1.attn.qkv.weight"]
    assert qkv.shape == (3 * 48, 48)
    torch.testing.assert_close(qkv[:48], hf["vit.layers.1.attention.q_proj.weight"])
    torch.testing.assert_close(qkv[48:96], hf["vit.layers.1.attention.k_proj.weight"])
    torch.testing.assert_close(qkv[96:], hf["vit.layers.1.attention.v_proj.weight"])
    model = vitlib.ViT(image_size=32, patch_size=8, num_classes=5, embed_dim=48, depth=2, num_heads=4)
    assert set(timm) == set(model.state_dict())


@pytest.mark.parametrize("size", [48, (48, 64), (16, 24)])
def test_resized_matches_interpolate_pos_encoding(hf_classifier, saved_classifier, size):
    h, w = (size, size) if isinstance(size, int) else size
    x = _images(h, w)
    model = hub.load_checkpoint(saved_classifier, image_size=size)  # HF source -> bicubic, antialias=False
    assert model.pos_embed.shape == (1, 1 + (h // 8) * (w // 8), 48)
    with torch.no_grad():
        expected = hf_classifier(x, interpolate_pos_encoding=True).logits
        torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=0)
        # The test can tell: timm's antialiased resampling gives other numbers when shrinking or growing.
        other = hub.load_checkpoint(saved_classifier, image_size=size, antialias=True)
        assert (other(x) - expected).abs().max() > 1e-5


def test_resize_defaults_name_each_library():
    assert hub.RESIZE_DEFAULTS["hf"] == {"interpolation": "bicubic", "antialias": False}
    assert hub.RESIZE_DEFAULTS["timm"] == {"interpolation": "bicubic", "antialias": True}


def _vitlib_model(**kw):
    torch.manual_seed(0)
    return vitlib.ViT(
        **{"image_size": 32, "patch_size": 8, "num_classes": 7, "embed_dim": 64, "depth": 3, "num_heads": 2, **kw}
    ).eval()


def test_timm_layout_round_trip_strict(tmp_path):
    model = _vitlib_model()
    save_file(model.state_dict(), tmp_path / "w.safetensors")
    torch.save(model.state_dict(), tmp_path / "w.pt")
    x = _images()
    for name in ("w.safetensors", "w.pt"):
        loaded = hub.load_checkpoint(tmp_path / name, num_heads=2)
        assert loaded.config == model.config
        assert loaded.config.eps == 1e-6  # timm's eps
        torch.testing.assert_close(loaded(x), model(x), atol=0, rtol=0)
        # the same keys and shapes: a plain strict load works both ways
        model.load_state_dict(loaded.state_dict(), strict=True)


def test_timm_config_inferred_from_shapes():
    model = _vitlib_model(mlp_ratio=3.0, in_chans=1, image_size=(32, 48))
    config = hub.infer_config(model.state_dict(), num_heads=2, grid=(4, 6))
    assert config == model.config
    with pytest.raises(ValueError, match="not a square grid"):
        hub.infer_config(model.state_dict(), num_heads=2)


def test_timm_resize_uses_timms_antialias():
    model = _vitlib_model()
    big = hub.load_checkpoint(model.state_dict(), num_heads=2, image_size=64)
    expected = vitlib.resize_pos_embed(model.pos_embed, (8, 8), antialias=True)
    torch.testing.assert_close(big.pos_embed, expected, atol=0, rtol=0)
    assert big(_images(64, 64)).shape == (2, 7)


def test_heads_of_standard_widths_and_unknown_widths():
    sd = vitlib.ViT.from_preset("vit_tiny_patch16_224", depth=1, num_classes=0).state_dict()
    assert hub.infer_config(sd).num_heads == 3
    with pytest.raises(ValueError, match=r"cannot infer num_heads for embed_dim 48.*pass num_heads="):
        hub.infer_config(_vitlib_model(embed_dim=48).state_dict())
    with pytest.warns(UserWarning, match="guessed num_heads=2"):
        assert hub.infer_config(_vitlib_model(embed_dim=128, num_heads=2).state_dict()).num_heads == 2


@pytest.mark.parametrize(
    ("edit", "kind", "key"),
    [
        (lambda sd: sd.pop("blocks.2.mlp.fc2.bias"), "missing", "blocks.2.mlp.fc2.bias"),
        (lambda sd: sd.__setitem__("dist_token", torch.zeros(1, 1, 64)), "unexpected", "dist_token"),
        (lambda sd: sd.__setitem__("norm.weight", torch.ones(65)), "wrong shape", "norm.weight"),
    ],
)
def test_mismatch_names_the_key(edit, kind, key):
    model = _vitlib_model()
    sd = dict(model.state_dict())
    edit(sd)
    with pytest.raises(hub.CheckpointMismatchError) as info:
        hub.load_checkpoint(sd, config=model.config)
    message = str(info.value)
    assert f"{kind}" in message and key in message, message
    assert isinstance(info.value, ValueError)
    if kind == "wrong shape":
        assert "checkpoint (65,), model (64,)" in message


def test_hf_mismatch_names_the_hf_key(hf_classifier):
    sd = dict(hf_classifier.state_dict())
    del sd["vit.layers.1.attention.k_proj.weight"]
    with pytest.raises(hub.CheckpointMismatchError, match=r"vit\.layers\.1\.attention\.k_proj\.weight"):
        hub.load_checkpoint(sd, num_heads=4)
    sd = dict(hf_classifier.state_dict())
    sd["vit.embeddings.distillation_token"] = torch.zeros(1, 1, 48)
    with pytest.raises(hub.CheckpointMismatchError, match=r"unexpected.*vit\.embeddings\.distillation_token"):
        hub.load_checkpoint(sd, num_heads=4)
    sd = dict(hf_classifier.state_dict())
    sd["vit.layers.0.mlp.fc1.weight"] = torch.zeros(90, 48)
    expected = r"wrong shape: blocks\.0\.mlp\.fc1\.weight \(from vit\.layers"
    with pytest.raises(hub.CheckpointMismatchError, match=expected):
        hub.load_checkpoint(sd, config=hub.vit_from_transformers(hf_classifier).config)


def test_bad_sources():
    with pytest.raises(ValueError, match="neither timm's ViT layout"):
        hub.load_checkpoint({"weight": torch.zeros(2)})
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        hub.load_checkpoint("/nonexistent/model.safetensors")
    with pytest.raises(TypeError, match="path or a state dict"):
        hub.load_checkpoint(42)


def test_unknown_suffix(tmp_path):
    (tmp_path / "w.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"\.safetensors"):
        hub.read_checkpoint(tmp_path / "w.npz")


def test_wrapped_training_checkpoint(tmp_path):
    model = _vitlib_model()
    torch.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")
    torch.testing.assert_close(hub.load_checkpoint(tmp_path / "ckpt.pth", num_heads=2).pos_embed, model.pos_embed)


class _Exploit:
    """Unpickling this runs a shell command: what a plain torch.load (weights_only=False) would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.bin"
    with open(path, "wb") as f:
        pickle.dump({"patch_embed.proj.weight": _Exploit(marker)}, f, protocol=2)
    with pytest.raises(ValueError, match="refused to load .*arbitrary code"):
        hub.load_checkpoint(path)
    assert not marker.exists()  # the payload never ran
    pickle.loads(path.read_bytes())  # while a plain unpickle would have run it
    assert marker.exists()


def _torch_load_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "load" and isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "torch":
                yield node


def test_torch_load_always_has_weights_only_true():
    root = Path(vitlib.__file__).parent
    calls = 0
    for source in root.rglob("*.py"):
        for call in _torch_load_calls(ast.parse(source.read_text())):
            calls += 1
            kw = {k.arg: k.value for k in call.keywords}
            assert "weights_only" in kw, f"{source}:{call.lineno}: torch.load without weights_only=True"
            assert isinstance(kw["weights_only"], ast.Constant) and kw["weights_only"].value is True, (
                f"{source}:{call.lineno}: torch.load must pass weights_only=True literally"
            )
    assert calls >= 1  # hub.py reads .pt files: the scan sees it


def test_the_ast_scan_catches_an_unsafe_call():
    unsafe = ast.parse("import torch\ntorch.load('x.pt')\ntorch.load('y.pt', weights_only=False)")
    calls = list(_torch_load_calls(unsafe))
    assert len(calls) == 2
    assert not any(k.arg == "weights_only" and k.value.value is True for c in calls for k in c.keywords)


def _no_network(monkeypatch) -> list:
    """Record every attempt to open a connection, and refuse it."""
    probes = []

    def refuse(*args, **kwargs):
        probes.append(args)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return probes


def test_download_with_hf_hub_offline_raises_at_once_without_touching_the_network(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    probes = _no_network(monkeypatch)
    with pytest.raises(hub.DownloadError, match=r"offline \(HF_HUB_OFFLINE=1\).*revision 'main'") as caught:
        hub.download_checkpoint("google/vit-base-patch16-224", timeout=0.1)
    assert caught.value.reason == "offline" and isinstance(caught.value, OSError)
    assert probes == []  # offline was asked for: no connection at all
    assert capsys.readouterr().out == ""  # it raises; it never prints


def test_download_goes_through_huggingface_hub_to_the_endpoint_it_is_given(monkeypatch, tmp_path):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")  # a mirror, as a school network may set
    with pytest.raises(hub.DownloadError, match=rf"offline: http://127.0.0.1:{port} did not answer") as caught:
        hub.download_checkpoint("google/vit-base-patch16-224", revision="abc123", timeout=0.5)
    assert caught.value.reason == "unreachable"


def test_download_finds_the_cache_without_the_network(monkeypatch, tmp_path):
    # the layout huggingface_hub's cache uses: refs/<revision> -> commit, snapshots/<commit>/<file>
    repo = tmp_path / "models--someone--tiny-vit"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes(b"x")
    (snapshot / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    probes = _no_network(monkeypatch)
    assert hub.download_checkpoint("someone/tiny-vit") == snapshot / "model.safetensors"
    assert probes == []
    with pytest.raises(hub.DownloadError, match="revision 'v2'") as caught:  # another revision is not cached
        hub.download_checkpoint("someone/tiny-vit", revision="v2")
    assert caught.value.reason == "offline"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"repo_id": ""}, TypeError, "repo_id must be a non-empty string"),
        ({"revision": None}, TypeError, "revision must be a non-empty string; got None"),
        ({"timeout": 0}, ValueError, "timeout must be > 0; got 0"),
    ],
)
def test_download_checks_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        hub.download_checkpoint(**({"repo_id": "google/vit-base-patch16-224"} | kwargs))


def test_sharded_and_bin_folders(hf_classifier, saved_classifier, tmp_path):
    x = _images()
    with torch.no_grad():
        expected = hf_classifier(x).logits
    sharded = tmp_path / "sharded"
    hf_classifier.save_pretrained(sharded, max_shard_size="20KB")
    assert (sharded / "model.safetensors.index.json").exists()
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    state, _ = hub.read_checkpoint(saved_classifier)
    torch.save(state, bin_folder / "pytorch_model.bin")
    (bin_folder / "config.json").write_text((saved_classifier / "config.json").read_text())
    for folder in (sharded, bin_folder):
        with torch.no_grad():
            torch.testing.assert_close(hub.load_checkpoint(folder)(x), expected, atol=1e-5, rtol=0)
