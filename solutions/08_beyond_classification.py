"""Solutions to the "Your turn" exercises of notebook 08 (for instructors)."""

import torch


def solution_one_patch():
    return "b"  # every token attends to every patch in both blocks, so all 64 logits move


def solution_fuse_qkv():
    def fuse_qkv(q, k, v):
        return torch.cat([q, k, v], dim=0)  # (3D, D), rows q | k | v

    return fuse_qkv


def solution_hidden_only():
    return "b"  # redrawing a visible patch is copying the input; the hidden patches are the question
