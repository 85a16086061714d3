"""Solutions to the exercises of notebook 11 (for instructors)."""


def solution_stuck_run():
    return "a"  # post-norm without warm-up: the full learning rate from step 1 collapses its stack of LayerNorms


def solution_fixed_block():
    def block_forward(block, x):
        x = x + block.attn(block.norm1(x))[0]  # the residual adds to x itself, not to norm1(x)
        return x + block.mlp(block.norm2(x))

    return block_forward


def solution_score_variance():
    q_variance = 768 * 0.02**2  # one channel of q (or k): 768 unit-variance inputs, weights of std 0.02
    dot_variance = 64 * q_variance**2  # a sum of 64 products q_i k_i, each of variance q_variance squared
    return dot_variance / 64  # dividing by sqrt(64) divides the variance by 64


def solution_first_fix():
    return "c"  # measured at initialisation: no optimiser setting is to blame; look for a missing x + ...
