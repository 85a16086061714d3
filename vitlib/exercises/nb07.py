"""Checkers for notebook 07, *ViT encoder vs. VAE encoder: a ViT-VAE*."""

from __future__ import annotations

import torch

from .. import vae as _vae
from . import Shortcut, by_hand_message, checker, correct, not_yet, run_by_hand

__all__ = ["check_kl", "check_reparameterize"]

#: The routes that compute the KL or draw z for the learner; the exercises ask for the formulas by hand.
VAE_SHORTCUTS = (
    Shortcut(
        "vitlib.vae's own functions",
        targets=(_vae.kl_to_standard_normal, _vae.reparameterize, _vae.vae_loss, _vae.ViTVAE),
        names=("kl_to_standard_normal", "reparameterize", "vae_loss"),
    ),
    Shortcut(
        "torch.distributions",
        targets=(torch.distributions.kl.kl_divergence, torch.distributions.Normal, torch.distributions.Independent),
        names=("kl_divergence", "Normal", "MultivariateNormal", "rsample", "distributions"),
    ),
)


def _reference_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)


@checker
def check_kl(answer) -> object:
    """``answer`` is your function ``kl(mu, logvar)``: KL(N(μ, σ²) || N(0, I)) of each row,
    ``(B, L), (B, L) -> (B,)``, in closed form."""
    if not callable(answer):
        return not_yet(f"answer must be a function kl(mu, logvar); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(7)
    for b, latent in ((4, 3), (2, 16)):
        mu = torch.randn(b, latent, generator=g)
        logvar = torch.randn(b, latent, generator=g)
        want = _reference_kl(mu, logvar)
        got, shortcut = run_by_hand(answer, (mu.clone(), logvar.clone()), VAE_SHORTCUTS)
        if shortcut:
            return not_yet(by_hand_message(shortcut, "write the closed form", "tensor arithmetic (exp, pow, sum)"))
        if not isinstance(got, torch.Tensor):
            return not_yet(f"kl must return a tensor; it returned {type(got).__name__}.")
        if got.shape != (b,):
            if got.numel() == 1:
                return not_yet(
                    f"you returned one number for the whole batch; return one KL per image, shape (B,) = ({b},): "
                    "sum over the latent dimension only, .sum(dim=-1)."
                )
            if got.shape == (b, latent):
                return not_yet(f"you returned (B, L) = {(b, latent)}: sum the terms over L with .sum(dim=-1).")
            return not_yet(f"for (B, L) = {(b, latent)} inputs the result must be ({b},); got {tuple(got.shape)}.")
        if not torch.isfinite(got).all():
            return not_yet(
                "some values are NaN or infinite: logvar is already log σ² (it can be negative), so do not take "
                "its log again; σ² = logvar.exp()."
            )
        if torch.allclose(got, 2 * want, atol=1e-5):
            return not_yet("every value is twice the KL: the closed form has a factor ½ in front.")
        if torch.allclose(got, -want, atol=1e-5):
            return not_yet("the sign is flipped: a KL divergence is never negative; it is +½ (μ² + σ² - 1 - log σ²).")
        if torch.allclose(got - want, torch.full_like(want, latent / 2), atol=1e-4):
            return not_yet("every value is L/2 too large: the -1 inside ½ (μ² + σ² - 1 - log σ²) is missing.")
        if not torch.allclose(got, want, atol=1e-5, rtol=1e-5):
            return not_yet(
                f"the values differ from the closed form by up to {(got - want).abs().max().item():.3g}. "
                "Per dimension the KL is ½ (μ² + σ² - 1 - log σ²), with σ² = exp(logvar)."
            )
    zero = answer(torch.zeros(2, 5), torch.zeros(2, 5))
    if not torch.allclose(zero, torch.zeros(2), atol=1e-7):
        return not_yet(f"at μ = 0, log σ² = 0 (the prior itself) the KL must be 0; got {zero.tolist()}.")
    return correct("½ (μ² + σ² - 1 - log σ²), summed over the latent dimension: 0 at the prior, as it should be.")


@checker
def check_reparameterize(answer) -> object:
    """``answer`` is your function ``sample(mu, logvar, eps)``: ``z = μ + σ·ε`` with
    ``σ = exp(½ log σ²)``, differentiable with respect to ``mu`` and ``logvar``."""
    if not callable(answer):
        return not_yet(f"answer must be a function sample(mu, logvar, eps); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(3, 4, generator=g).requires_grad_()
    logvar = torch.randn(3, 4, generator=g).requires_grad_()
    eps = torch.randn(3, 4, generator=g)
    got, shortcut = run_by_hand(answer, (mu, logvar, eps), VAE_SHORTCUTS)
    if shortcut:
        return not_yet(by_hand_message(shortcut, "draw z", "μ, σ = exp(½ log σ²) and the given ε"))
    if not isinstance(got, torch.Tensor):
        return not_yet(f"sample must return a tensor; it returned {type(got).__name__}.")
    if got.shape != mu.shape:
        return not_yet(f"z must have the shape of mu, {tuple(mu.shape)}; got {tuple(got.shape)}.")
    with torch.no_grad():
        want = mu + (0.5 * logvar).exp() * eps
        wrong = {
            "mu + logvar * eps": (mu + logvar * eps, "log σ² is not σ: take σ = torch.exp(0.5 * logvar)."),
            "mu + logvar.exp() * eps": (
                mu + logvar.exp() * eps,
                "logvar.exp() is the variance σ²; the noise is scaled by the standard deviation σ = exp(½ log σ²).",
            ),
            "mu + logvar.exp().sqrt()": (
                mu + (0.5 * logvar).exp(),
                "you left ε out: z = μ + σ·ε, with the given eps.",
            ),
        }
    for expected, hint in wrong.values():
        if torch.allclose(got.detach(), expected, atol=1e-5):
            return not_yet(hint)
    if not torch.allclose(got.detach(), want, atol=1e-5):
        if got.grad_fn is not None and "Normal" in type(got.grad_fn).__name__:
            return not_yet(
                "you sampled with torch.normal: that draws its own noise (ignoring eps) and its gradient with "
                "respect to μ and σ is defined as zero. Build z from μ, σ and the eps that is passed in."
            )
        return not_yet(
            f"z differs from μ + σ·ε by up to {(got.detach() - want).abs().max().item():.3g}; "
            "use the eps that is passed in, and σ = torch.exp(0.5 * logvar)."
        )
    if got.grad_fn is None:
        return not_yet("z has the right values but no grad_fn: do not detach or wrap it in torch.no_grad().")
    got.sum().backward()
    if mu.grad is None or logvar.grad is None:
        return not_yet("gradients do not reach both mu and logvar: build z from them directly.")
    if not torch.allclose(mu.grad, torch.ones_like(mu)) or not torch.allclose(
        logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * eps, atol=1e-5
    ):
        return not_yet(
            "the values are right but the gradients are not: build z from mu and logvar with tensor operations."
        )
    return correct("z = μ + σ·ε; ∂z/∂μ = 1 and ∂z/∂log σ² = ½ σ ε: the noise no longer blocks the gradients.")
