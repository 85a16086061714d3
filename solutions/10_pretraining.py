"""Solutions to the exercises of notebook 10 (for instructors)."""


def solution_probe():
    return "below"  # the MAE's loss never asked for linearly separable classes; fine-tuning can bring them out


def solution_supported_claim():
    return "b"  # measured here: the same 142 labels, two seeds, pretraining on unlabelled digits of the same kind
