"""Solutions to the "Your turn" exercises of notebook 06 (for instructors)."""


def solution_mean_pool():
    def mean_pool(encoded):
        return encoded[:, 1:].mean(dim=1)  # skip [CLS] (token 0), average the patch tokens

    return mean_pool


def solution_block_params():
    d = 768
    qkv = d * 3 * d + 3 * d
    proj = d * d + d
    mlp = (d * 4 * d + 4 * d) + (4 * d * d + d)
    norms = 2 * (d + d)
    return qkv + proj + mlp + norms
