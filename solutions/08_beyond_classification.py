"""Solutions to the "Your turn" exercises of notebook 08 (for instructors)."""

import torch


def solution_num_visible():
    n = (224 // 16) ** 2  # 196 patches
    return round(n * (1 - 0.75)) + 1  # 49 kept + [CLS]


def solution_fuse_qkv():
    def fuse_qkv(q, k, v):
        return torch.cat([q, k, v], dim=0)  # (3D, D), rows q | k | v

    return fuse_qkv


def solution_patch_logits():
    def patch_logits(tokens, head):
        return head(tokens[:, 1:]).squeeze(-1)  # drop [CLS], one logit per patch

    return patch_logits
