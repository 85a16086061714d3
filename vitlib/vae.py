"""A ViT as the encoder of a variational autoencoder (notebook 07).

The seed's last section, in code: a ViT encoder gives deterministic
features; a VAE encoder gives the mean μ and the log-variance log σ² of a
latent Gaussian. :class:`ViTVAE` is both at once::

    images (B, C, H, W) -> ViT encoder -> tokens (B, N+1, D) -> features (B, F)
        -> two Linear heads -> μ, log σ² (B, L)
        -> z = μ + σ·ε (the reparameterisation trick)          (B, L)
        -> decoder: z on every patch position, transformer blocks, one patch per token (B, N, C*P*P)
        -> unpatchify -> logits of the pixels (B, C, H, W)

The encoder is a :class:`vitlib.ViT` with ``num_classes=0`` and the decoder
reuses :class:`vitlib.Block` and :func:`vitlib.unpatchify`: nothing is
written twice. The loss is the reconstruction (binary cross-entropy, summed
over pixels) plus β times the KL divergence to a standard normal, in closed
form (:func:`kl_to_standard_normal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .checks import choice, int_pair, nonnegative_int, positive_int, tensor, whole
from .data import Digits
from .embedding import learned_pos_embed
from .encoder import Block
from .engine import History, Recipe, epoch_batches, evaluating, run_training
from .model import ViT, ViTConfig
from .patches import grid_size, unpatchify
from .train import check_images, train_on_digits

__all__ = [
    "VAE_ENCODER",
    "PatchDecoder",
    "VAELoss",
    "VAEOutput",
    "VAERun",
    "VAETrainConfig",
    "ViTVAE",
    "interpolate_latents",
    "kl_to_standard_normal",
    "mean_image_error",
    "reconstruction_error",
    "reparameterize",
    "train_digits_vae",
    "train_vae",
    "vae_loss",
]

# Sized for the digits (1 x 8 x 8, 16 patches of 2 x 2), like the "digits" preset but two blocks deep and
# without a head: a VAE on the digits trains in seconds on one CPU thread. Spelled out, so that a change
# to the classifier's preset does not silently retune the VAE.
VAE_ENCODER = ViTConfig(
    image_size=8, patch_size=2, in_chans=1, num_classes=0, embed_dim=64, depth=2, num_heads=4, mlp_ratio=2.0
)


def _check_pair(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    for name, t in (("mu", mu), ("logvar", logvar)):
        tensor(t, name)
        if not t.is_floating_point():
            raise TypeError(f"{name} must be floating point; got {t.dtype}. Convert it: {name}.float().")
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape (..., L); got {tuple(mu.shape)} and {tuple(logvar.shape)}. "
            "They come from the two heads of the same encoder output."
        )
    if mu.dim() == 0:
        raise ValueError("mu and logvar must have at least one dimension (the latent dimension L); got scalars.")


# --- the three formulas -----------------------------------------------------------------------------------------


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) || N(0, 1)), summed over the latent dimension: ``(..., L), (..., L) -> (...)``.

    In closed form, per dimension: ``½ (μ² + σ² - 1 - log σ²)``. It is zero
    exactly when μ = 0 and σ = 1, and grows as the code moves away from the prior.
    """
    _check_pair(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> torch.Tensor:
    """A sample ``z = μ + σ·ε`` with ``ε ~ N(0, I)``: ``(..., L), (..., L) -> (..., L)``.

    The randomness sits in ε, which does not depend on the parameters, so
    gradients flow to μ (∂z/∂μ = 1) and to log σ² (∂z/∂log σ² = ½ σ ε).
    Pass ``eps`` to fix the noise, or a ``generator`` to seed it.
    """
    _check_pair(mu, logvar)
    if eps is None:
        # Drawn where the generator lives (the CPU for torch.Generator()), so a seed gives the same ε on any device.
        where = generator.device if generator is not None else mu.device
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=where).to(mu.device)
    elif eps.shape != mu.shape:
        raise ValueError(f"eps must have the shape of mu {tuple(mu.shape)}; got {tuple(eps.shape)}.")
    return mu + torch.exp(0.5 * logvar) * eps


def interpolate_latents(z0: torch.Tensor, z1: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Evenly spaced points on the straight line from ``z0`` to ``z1``: ``(L,), (L,) -> (steps, L)``.

    The first row is exactly ``z0`` and the last exactly ``z1``.
    """
    for name, z in (("z0", z0), ("z1", z1)):
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (L,); got {type(z).__name__}.")
    if z0.dim() == 2 and z0.shape[0] == 1:
        z0 = z0[0]
    if z1.dim() == 2 and z1.shape[0] == 1:
        z1 = z1[0]
    if z0.dim() != 1 or z0.shape != z1.shape:
        raise ValueError(
            f"z0 and z1 must be two latents of the same shape (L,); got {tuple(z0.shape)} and {tuple(z1.shape)}. "
            "Pick single rows, e.g. mu[3] and mu[7]."
        )
    steps = positive_int(steps, "steps", example=8)
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two ends); got {steps}.")
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype, device=z0.device)[:, None]  # (steps, 1)
    return (1.0 - t) * z0 + t * z1  # t = 0 gives z0 and t = 1 gives z1, bit for bit


class VAELoss(NamedTuple):
    """The loss and its two terms, each the mean over the batch of a per-image sum."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


def vae_loss(
    logits: torch.Tensor, images: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *, beta: float = 1.0
) -> VAELoss:
    """Reconstruction + β·KL: ``(B, C, H, W) logits and images in [0, 1], (B, L) μ and log σ² -> scalars``.

    The reconstruction term is the binary cross-entropy of the pixel logits,
    summed over the pixels of each image; the KL term is
    :func:`kl_to_standard_normal`; both are averaged over the batch. With
    ``beta=1`` the total is the negative evidence lower bound (ELBO).
    """
    for name, value in (("logits", logits), ("images", images), ("mu", mu), ("logvar", logvar)):
        tensor(value, name)
    if logits.shape != images.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and images {tuple(images.shape)} must have the same shape (B, C, H, W)."
        )
    if mu.shape[0] != images.shape[0]:
        raise ValueError(f"mu holds {mu.shape[0]} latents but there are {images.shape[0]} images; pass one per image.")
    beta = checks.nonnegative_float(beta, "beta", example=1.0)  # beta=1 is the plain VAE
    _check_unit_interval(images, "images")
    reconstruction = F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(1).mean()
    kl = kl_to_standard_normal(mu, logvar).mean()
    return VAELoss(reconstruction + beta * kl, reconstruction, kl)


# --- the model ----------------------------------------------------------------------------------------------------


class PatchDecoder(nn.Module):
    """Latents back to pixel logits, the ViT encoder run backwards: ``(B, L) -> (B, C, H, W)``.

    ``z`` is projected to one D-vector and put on every patch position
    (plus a learned position table, so the tokens know where they are);
    transformer blocks let the positions agree on one picture; a Linear turns
    each token into the ``C*P*P`` values of its patch; :func:`unpatchify`
    puts the patches in place.
    """

    def __init__(
        self,
        *,
        latent_dim: int,
        image_size=8,
        patch_size: int = 2,
        in_chans: int = 1,
        embed_dim: int = 64,
        depth: int = 1,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        eps: float = 1e-6,
    ):
        super().__init__()
        self.latent_dim = latent_dim = positive_int(latent_dim, "latent_dim", example=16)
        self.image_size = int_pair(image_size, "image_size", example=8)
        self.patch_size = patch_size = positive_int(patch_size, "patch_size", example=2)
        in_chans = positive_int(in_chans, "in_chans", example=1)
        embed_dim = positive_int(embed_dim, "embed_dim", example=64)
        depth = nonnegative_int(depth, "depth", example=1)
        gh, gw = grid_size(self.image_size, patch_size)
        self.proj = nn.Linear(latent_dim, embed_dim)
        self.pos_embed = nn.Parameter(learned_pos_embed(gh * gw, embed_dim))
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, eps=eps) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(embed_dim, eps=eps)
        self.head = nn.Linear(embed_dim, in_chans * patch_size * patch_size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        tensor(z, "z")
        if not z.is_floating_point():
            raise TypeError(f"z must be floating point; got {z.dtype}. Convert it: z.float().")
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            hint = " For one latent add a batch dimension: z.unsqueeze(0)." if z.dim() == 1 else ""
            raise ValueError(f"z must have shape (B, latent_dim) = (B, {self.latent_dim}); got {tuple(z.shape)}.{hint}")
        tokens = self.proj(z)[:, None, :] + self.pos_embed  # (B, 1, D) + (1, N, D) -> (B, N, D)
        for block in self.blocks:
            tokens, _ = block(tokens)
        tokens = self.norm(tokens)
        patches = self.head(tokens)  # (B, N, C*P*P)
        return unpatchify(patches, self.patch_size, self.image_size)  # (B, C, H, W)


@dataclass
class VAEOutput:
    """What one forward pass gives: pixel logits ``(B, C, H, W)``, and μ, log σ², z ``(B, L)``."""

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor

    @property
    def images(self) -> torch.Tensor:
        """The reconstructions in [0, 1]: ``sigmoid(logits)``."""
        return torch.sigmoid(self.logits)


class ViTVAE(nn.Module):
    """A variational autoencoder whose encoder is a :class:`vitlib.ViT`: ``(B, C, H, W) -> VAEOutput``.

    ``config`` (default :data:`VAE_ENCODER`) and ``overrides`` shape the ViT
    encoder; its classification head is left out (``num_classes=0``).
    ``features="tokens"`` feeds the μ and log σ² heads with every output
    token, flattened, ``(B, (N+1)*D)``; ``features="cls"`` with the [CLS]
    token alone, ``(B, D)``, as a classifier would.
    """

    def __init__(
        self,
        config: ViTConfig | None = None,
        /,
        *,
        latent_dim: int = 16,
        decoder_depth: int = 1,
        features: str = "tokens",
        **overrides,
    ):
        super().__init__()
        config = checks.configured(
            ViTConfig, config, overrides, default=VAE_ENCODER, what="ViTVAE"
        )  # ViTConfig checks each field
        if config.num_classes:
            raise ValueError(
                f"the VAE's encoder has no classification head; got num_classes={config.num_classes}. "
                "Pass num_classes=0 (or leave it out)."
            )
        choice(features, "features", ("tokens", "cls"))
        latent_dim = positive_int(latent_dim, "latent_dim", example=16)
        decoder_depth = nonnegative_int(decoder_depth, "decoder_depth", example=1)
        self.config, self.latent_dim, self.features_kind = config, latent_dim, features
        self.encoder = ViT(config)
        d = config.embed_dim
        feature_dim = (self.encoder.patch_embed.num_patches + 1) * d if features == "tokens" else d
        self.to_mu = nn.Linear(feature_dim, latent_dim)
        self.to_logvar = nn.Linear(feature_dim, latent_dim)
        self.decoder = PatchDecoder(
            latent_dim=latent_dim,
            image_size=config.image_size,
            patch_size=config.patch_size,
            in_chans=config.in_chans,
            embed_dim=d,
            depth=decoder_depth,
            num_heads=config.num_heads,
            mlp_ratio=config.mlp_ratio,
            eps=config.eps,
        )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the images this model reads and writes."""
        return (self.config.in_chans, *self.encoder.patch_embed.image_size)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The ViT encoder's deterministic features: ``(B, C, H, W) -> (B, F)``."""
        tokens = self.encoder.forward_features(images)  # (B, N+1, D)
        return tokens.flatten(1) if self.features_kind == "tokens" else tokens[:, 0]

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """μ and log σ² of each image's latent Gaussian: ``(B, C, H, W) -> (B, L), (B, L)``."""
        h = self.features(images)
        return self.to_mu(h), self.to_logvar(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits: ``(B, L) -> (B, C, H, W)``."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1]: ``(B, L) -> (B, C, H, W)``."""
        return torch.sigmoid(self.decoder(z))

    def forward(self, images: torch.Tensor, *, generator: torch.Generator | None = None) -> VAEOutput:
        """Encode, sample ``z = μ + σ·ε``, decode: ``(B, C, H, W) -> VAEOutput``."""
        mu, logvar = self.encode(images)
        z = reparameterize(mu, logvar, generator=generator)
        return VAEOutput(self.decode_logits(z), mu, logvar, z)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """The decoding of each image's mean code μ (no sampling): ``(B, C, H, W) -> (B, C, H, W)``."""
        return self.decode(self.encode(images)[0])

    @torch.no_grad()
    def sample(self, n: int, *, seed: int = 0) -> torch.Tensor:
        """``n`` images decoded from ``z ~ N(0, I)``, the prior: ``-> (n, C, H, W)``.

        The same ``seed`` gives the same images; the global random state is untouched.
        """
        n = positive_int(n, "n", example=16)
        seed = whole(seed, "seed", example=0)
        generator = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.decode(z.to(self.to_mu.weight.device))

    @torch.no_grad()
    def interpolate(self, first: torch.Tensor, second: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Decodings along the line between two images' mean codes: ``(C, H, W), (C, H, W) -> (steps, C, H, W)``.

        The ends are the reconstructions of ``first`` and ``second``.
        """
        for name, image in (("first", first), ("second", second)):
            if not isinstance(image, torch.Tensor) or tuple(image.shape) != self.image_shape:
                shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
                raise ValueError(f"{name} must be one image of shape {self.image_shape}; got {shape}.")
        mu, _ = self.encode(torch.stack([first, second]))
        return self.decode(interpolate_latents(mu[0], mu[1], steps))


# --- training -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VAETrainConfig(Recipe):
    """The ViT-VAE's recipe: :class:`~vitlib.engine.Recipe`'s fields (tuned for :data:`VAE_ENCODER` on the digits)
    and its own.

    ``beta`` weighs the KL term; it is ramped up from 0 over the first ``kl_warmup_epochs`` (KL annealing), so
    that the decoder learns to use z before the KL term can push every code onto the prior ("posterior
    collapse"). ``warmup_steps=None`` warms the learning rate up over one epoch.
    """

    lr: float = 5e-3
    min_lr: float = 1e-5
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 12
    beta: float = 0.15
    kl_warmup_epochs: float = 6.0

    def __post_init__(self):
        super().__post_init__()
        checks.positive_int(self.epochs, "epochs", example=12)
        checks.nonnegative_float(self.beta, "beta", example=1.0)  # beta=1: the plain VAE
        checks.nonnegative_float(self.kl_warmup_epochs, "kl_warmup_epochs", example=6.0)


def _check_images(model: ViTVAE, images, what: str, *, allow_empty: bool = False) -> torch.Tensor:
    images = check_images(images, what, dtype=model.to_mu.weight.dtype, allow_empty=allow_empty)  # finite floats
    if tuple(images.shape[1:]) != model.image_shape:
        raise ValueError(
            f"{what} must have shape (N, {', '.join(map(str, model.image_shape))}) for this model; "
            f"got {tuple(images.shape)}."
        )
    _check_unit_interval(images, what)
    return images


def _check_unit_interval(images: torch.Tensor, what: str) -> None:
    if images.numel() and not bool(((images >= 0) & (images <= 1)).all()):  # NaN fails both comparisons
        finite = images[torch.isfinite(images)]
        low, high = (finite.min().item(), finite.max().item()) if finite.numel() else (math.nan, math.nan)
        nan = int(torch.isnan(images).sum())
        raise ValueError(
            f"{what} must hold pixel values in [0, 1] (the targets of the binary cross-entropy); got values in "
            f"[{low:.3g}, {high:.3g}]" + (f" and {nan} NaN" if nan else "") + ". Divide by the maximum (e.g. x / 255)."
        )


def train_vae(
    model: ViTVAE,
    images: torch.Tensor,
    *,
    config: VAETrainConfig | None = None,
    progress: bool = True,
    **overrides,
) -> History:
    """Train ``model`` in place on ``(N, C, H, W)`` images in [0, 1]; return the engine's History.

    The task is the model and its loss, :func:`vae_loss` with β annealed: the engine
    (:func:`vitlib.engine.run_training`) runs ``epochs * ceil(N / batch_size)`` steps and records per step the
    two terms ``reconstruction`` and ``kl`` and the ``beta`` they were weighed with (``loss`` is their sum,
    reconstruction + β·KL). Shuffling and the noise ε are seeded with ``config.seed``; keywords override fields.
    """
    config = checks.configured(VAETrainConfig, config, overrides)
    images = _check_images(model, images, "images")
    n, bs = images.shape[0], config.batch_size
    per_epoch = math.ceil(n / bs)
    recipe = config if config.warmup_steps is not None else replace(config, warmup_steps=per_epoch)  # one epoch
    kl_warmup = config.kl_warmup_epochs * per_epoch

    def loss_fn(model: ViTVAE, idx: torch.Tensor, generator: torch.Generator, step: int):
        x = images[idx]
        beta = config.beta * min(1.0, step / kl_warmup) if kl_warmup else config.beta
        out = model(x, generator=generator)
        loss = vae_loss(out.logits, x, out.mu, out.logvar, beta=beta)
        return loss.total, {"reconstruction": loss.reconstruction.item(), "kl": loss.kl.item(), "beta": beta}

    def on_log(history: History) -> dict:
        recent = slice(-per_epoch, None)
        return {name: f"{sum(history.steps[name][recent]) / per_epoch:.2f}" for name in ("reconstruction", "kl")}

    return run_training(
        model,
        loss_fn,
        epoch_batches(n, bs),
        steps=config.epochs * per_epoch,
        recipe=recipe,
        log_every=per_epoch,
        on_log=on_log,
        progress=progress,
        desc="training the ViT-VAE",
    )


@torch.no_grad()
def reconstruction_error(model: ViTVAE, images: torch.Tensor) -> float:
    """Mean squared error per pixel between images and the decodings of their μ: ``(N, C, H, W) -> float``."""
    images = _check_images(model, images, "images")
    with evaluating(model):
        return F.mse_loss(model.reconstruct(images), images).item()


def mean_image_error(train_images: torch.Tensor, test_images: torch.Tensor) -> float:
    """The baseline: per-pixel MSE of predicting the mean training image for every test image."""
    train_images = check_images(train_images, "train_images")  # finite floats, at least one image
    test_images = check_images(test_images, "test_images")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise ValueError(
            f"train and test images must have the same (C, H, W); got {tuple(train_images.shape[1:])} "
            f"and {tuple(test_images.shape[1:])}."
        )
    mean = train_images.mean(dim=0, keepdim=True)
    return F.mse_loss(mean.expand_as(test_images), test_images).item()


@dataclass
class VAERun:
    """A trained ViT-VAE with its data, history and held-out errors (per pixel)."""

    model: ViTVAE
    data: Digits
    history: History
    test_error: float  # per-pixel MSE of the reconstructions of the test digits
    baseline_error: float  # per-pixel MSE of the mean training digit

    def __repr__(self) -> str:
        return (
            f"VAERun(test reconstruction MSE {self.test_error:.4f} per pixel vs. {self.baseline_error:.4f} for the "
            f"mean digit, {len(self.history.loss)} steps in {self.history.seconds:.1f} s)"
        )


def train_digits_vae(
    *,
    seed: int = 0,
    config: VAETrainConfig | None = None,
    model_overrides: dict | None = None,
    progress: bool = True,
    **overrides,
) -> VAERun:
    """Train a :class:`ViTVAE` on the digits split ``seed`` and measure it on the held-out 20 %.

    ``seed`` fixes the split, the initial weights, the shuffling and the
    noise; the global random state is left as it was.
    """
    config = checks.configured(VAETrainConfig, config, {"seed": seed, **overrides})
    data, model, history = train_on_digits(
        seed,
        lambda: ViTVAE(**(model_overrides or {})),
        lambda model, data: train_vae(model, data.x_train, config=config, progress=progress),
    )
    return VAERun(
        model, data, history, reconstruction_error(model, data.x_test), mean_image_error(data.x_train, data.x_test)
    )
