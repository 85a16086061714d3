"""Solutions to the "Your turn" exercises of notebook 03 (for instructors)."""


def solution_head_before_attention():
    return "b"  # before attention [CLS] is the same vector for every image: the same logits, chance accuracy


def solution_batch_dimension():
    return "b"  # torch.cat needs equal batch sizes: 32 against 10 raises
