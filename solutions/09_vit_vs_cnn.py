"""Solutions to the "Your turn" exercises of notebook 09 (for instructors)."""


def solution_tokens_at_384():
    per_side = 384 // 16  # 24 patches along each side
    return per_side * per_side + 1  # 576 patches + [CLS]


def solution_vit_params():
    def vit_params(depth, dim, patch):
        n = (224 // patch) ** 2
        embed = 3 * patch * patch * dim + dim  # patch projection, weights and bias
        tokens = dim + (n + 1) * dim  # [CLS] and the position table
        block = 12 * dim * dim + 13 * dim  # qkv, proj, fc1, fc2 with biases, two LayerNorms
        head = 2 * dim + dim * 1000 + 1000  # final LayerNorm, Linear(D, 1000)
        return embed + tokens + depth * block + head

    return vit_params
