"""Solutions to the "Your turn" exercises of notebook 05 (for instructors)."""

from torch import nn


def solution_attention():
    def attention(q, k, v):
        d = q.shape[-1]
        weights = (q @ k.transpose(-2, -1) / d**0.5).softmax(dim=-1)  # (..., N, N), rows sum to 1
        return weights @ v

    return attention


def solution_attention_shape():
    n = (224 // 16) ** 2 + 1  # 196 patches + [CLS]
    return (1, 12, n, n)


def solution_vit_layer():
    return nn.TransformerEncoderLayer(
        d_model=192,
        nhead=3,
        dim_feedforward=4 * 192,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=1e-6,
        batch_first=True,
        norm_first=True,
    )
