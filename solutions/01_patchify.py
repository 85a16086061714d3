"""Solutions to the "Your turn" exercises of notebook 01 (for instructors)."""

import math


def solution_patchify():
    def my_patchify(images, patch_size):
        b, c, h, w = images.shape
        p = patch_size
        x = images.reshape(b, c, h // p, p, w // p, p)  # split H and W into (grid, P)
        x = x.permute(0, 2, 4, 1, 3, 5)  # (B, H/P, W/P, C, P, P)
        return x.reshape(b, (h // p) * (w // p), c * p * p)

    return my_patchify


def solution_token_index():
    row, col, patch_size, width = 40, 100, 16, 128
    return (row // patch_size) * (width // patch_size) + col // patch_size


def solution_valid_patch_sizes():
    g = math.gcd(96, 160)
    return [p for p in range(1, g + 1) if g % p == 0]
