"""The CUDA path: vitlib runs unchanged on a GPU and gives the CPU's numbers.

These tests need a CUDA GPU, so on the CPU-only CI machine they are reported
as skipped (never as passed). They run in the project's GPU check, where a
machine with a GPU is lent (CONTRIBUTING.md, "The GPU check"):

    python -m pytest -o addopts="" tests/test_cuda.py tests/test_timm.py

Every random draw in vitlib comes from a CPU ``torch.Generator``, so a seed
gives the same augmentation, shuffling, masking and VAE noise on any device;
that is what lets these tests compare a GPU run with a CPU run number by number.
"""

from __future__ import annotations

import pytest
import torch

from vitlib import ViT, ViTVAE
from vitlib.masking import random_masking
from vitlib.train import augment, fit, predict

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run in the GPU check)"),
    pytest.mark.usefixtures("exact_fp32"),
]

CUDA = torch.device("cuda")
SMALL = {"image_size": 32, "patch_size": 4, "num_classes": 10, "embed_dim": 64, "depth": 2, "num_heads": 4}


def twins(**overrides) -> tuple[ViT, ViT]:
    torch.manual_seed(0)
    cpu = ViT(**{**SMALL, **overrides})
    gpu = ViT(**{**SMALL, **overrides})
    gpu.load_state_dict(cpu.state_dict())
    return cpu.eval(), gpu.to(CUDA).eval()


def vae_twins() -> tuple[ViTVAE, ViTVAE]:
    torch.manual_seed(0)
    cpu = ViTVAE(latent_dim=4, embed_dim=16, num_heads=2, depth=1, mlp_ratio=2.0)
    gpu = ViTVAE(latent_dim=4, embed_dim=16, num_heads=2, depth=1, mlp_ratio=2.0)
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.to(CUDA)


def test_vit_on_cuda_gives_the_cpus_logits_and_attention():
    cpu, gpu = twins()
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, maps = gpu(images.to(CUDA), return_attention=True)
        assert logits.device.type == "cuda" and maps.shape == (2, 3, 4, 65, 65)
        torch.testing.assert_close(logits.cpu(), cpu(images), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(maps.cpu(), cpu(images, return_attention=True)[1], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(gpu(images.to(CUDA)), logits)  # the fused path agrees with the by-hand one


def test_bf16_autocast_on_cuda_stays_close_to_fp32():
    _, gpu = twins()
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(2), device="cpu").to(CUDA)
    with torch.no_grad():
        reference = gpu(images)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            low = gpu(images)
    assert low.dtype == torch.bfloat16
    torch.testing.assert_close(low.float(), reference, rtol=0.05, atol=0.05)


def test_augment_on_cuda_draws_the_same_warp_as_on_the_cpu():
    images = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    settings = {"max_shift": 1.5, "max_rotate": 10.0, "max_scale": 0.1, "elastic": 0.5}
    on_cpu = augment(images, generator=torch.Generator().manual_seed(4), **settings)
    on_gpu = augment(images.to(CUDA), generator=torch.Generator().manual_seed(4), **settings)
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-4, atol=1e-5)


def test_fit_on_cuda_takes_the_cpus_first_steps():
    cpu, gpu = twins(drop_path_rate=0.0)
    generator = torch.Generator().manual_seed(5)
    images = torch.rand(64, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (64,), generator=generator)
    settings = {"epochs": 1, "batch_size": 16, "progress": False, "mixup": 0.2, "elastic": 0.5}
    on_cpu = fit(cpu, images, labels, **settings)
    on_gpu = fit(gpu, images.to(CUDA), labels.to(CUDA), **settings)
    assert next(gpu.parameters()).device.type == "cuda"
    assert len(on_gpu.loss) == len(on_cpu.loss) == 4
    # Same order, warps and mixup partners: the losses agree step by step (to float rounding, which grows).
    torch.testing.assert_close(torch.tensor(on_gpu.loss), torch.tensor(on_cpu.loss), rtol=1e-3, atol=1e-4)
    predictions = predict(gpu, images.to(CUDA))
    assert predictions.device.type == "cuda" and predictions.shape == (64,)


def test_fit_with_drop_path_on_cuda_takes_the_cpus_steps():
    # The digits_p4 preset trains with drop-path 0.05: its keep-mask is drawn on the CPU and moved to the GPU,
    # so the same seed drops the same samples on either device.
    cpu, gpu = twins(drop_path_rate=0.3)
    generator = torch.Generator().manual_seed(12)
    images = torch.rand(64, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (64,), generator=generator)
    settings = {"epochs": 1, "batch_size": 16, "progress": False, "mixup": 0.0, "max_shift": 0}
    on_cpu = fit(cpu, images, labels, **settings)
    on_gpu = fit(gpu, images.to(CUDA), labels.to(CUDA), **settings)
    assert len(on_gpu.loss) == len(on_cpu.loss) == 4
    torch.testing.assert_close(torch.tensor(on_gpu.loss), torch.tensor(on_cpu.loss), rtol=1e-3, atol=1e-4)


def test_vae_on_cuda_with_a_seeded_generator_matches_the_cpu():
    cpu, gpu = vae_twins()
    cpu, gpu = cpu.eval(), gpu.eval()
    images = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        a = cpu(images, generator=torch.Generator().manual_seed(7))
        b = gpu(images.to(CUDA), generator=torch.Generator().manual_seed(7))
        torch.testing.assert_close(b.logits.cpu(), a.logits, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(gpu.sample(4, seed=3).cpu(), cpu.sample(4, seed=3), rtol=1e-4, atol=1e-5)


def test_random_masking_on_cuda_keeps_the_same_tokens():
    tokens = torch.randn(2, 16, 8, generator=torch.Generator().manual_seed(8))
    on_cpu = random_masking(tokens, 0.75, seed=9)
    on_gpu = random_masking(tokens.to(CUDA), 0.75, seed=9)
    assert on_gpu.kept.device.type == "cuda" and on_gpu.kept.shape == (2, 4, 8)
    torch.testing.assert_close(on_gpu.kept.cpu(), on_cpu.kept)
    torch.testing.assert_close(on_gpu.mask.cpu(), on_cpu.mask)


def test_vae_training_on_cuda_takes_the_cpus_steps():
    from vitlib.vae import train_vae

    cpu, gpu = vae_twins()
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(10))
    settings = {"epochs": 2, "batch_size": 8, "progress": False}
    on_cpu = train_vae(cpu, images, **settings)
    on_gpu = train_vae(gpu, images.to(CUDA), **settings)
    torch.testing.assert_close(
        torch.tensor(on_gpu.reconstruction), torch.tensor(on_cpu.reconstruction), rtol=1e-3, atol=1e-3
    )


def test_masked_autoencoder_on_cuda_takes_the_cpus_steps():
    from vitlib.masking import MaskedAutoencoder, train_mae

    def mae() -> MaskedAutoencoder:
        torch.manual_seed(0)
        encoder = ViT(image_size=8, patch_size=2, in_chans=1, num_classes=0, embed_dim=16, depth=1, num_heads=2)
        return MaskedAutoencoder(encoder, decoder_dim=16, decoder_heads=2, mask_ratio=0.5)

    cpu, gpu = mae(), mae().to(CUDA)
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(11))
    on_cpu = train_mae(cpu, images, steps=10, batch_size=8, progress=False)
    on_gpu = train_mae(gpu, images.to(CUDA), steps=10, batch_size=8, progress=False)
    torch.testing.assert_close(torch.tensor(on_gpu), torch.tensor(on_cpu), rtol=1e-3, atol=1e-4)
    seen, redrawn = gpu.reconstruct(images[:4].to(CUDA), seed=1)
    assert seen.device.type == redrawn.device.type == "cuda" and redrawn.shape == (4, 1, 8, 8)
    torch.testing.assert_close(redrawn.cpu(), cpu.reconstruct(images[:4], seed=1)[1], rtol=1e-3, atol=1e-4)
