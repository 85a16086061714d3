"""Solutions to the "Your turn" exercises of notebook 00 (for instructors)."""

import torch.nn.functional as F


def solution_gradient_rows():
    return "b"  # one_hot(ids) @ W: only the rows of the ids read get a gradient


def solution_lookup_as_matmul():
    def lookup(ids, weight):
        return F.one_hot(ids, num_classes=weight.shape[0]).to(weight.dtype) @ weight

    return lookup


def solution_predicted_shape():
    b, c, h, w, p = 2, 3, 32, 48, 8
    return (b, (h // p) * (w // p), c * p * p)
