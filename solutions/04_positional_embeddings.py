"""Solutions to the "Your turn" exercises of notebook 04 (for instructors)."""

import torch


def solution_unshuffle():
    def unshuffle(outputs, perm):
        return outputs[:, torch.argsort(perm)]  # output i belongs to patch perm[i]

    return unshuffle


def solution_tell_apart():
    return "d"  # a mirror image changes the pixels inside each patch; the others only move whole patches
