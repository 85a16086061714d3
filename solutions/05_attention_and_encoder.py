"""Solutions to the "Your turn" exercises of notebook 05 (for instructors)."""


def solution_multi_head():
    def multi_head(x, attn):
        B, N, D = x.shape
        H, hd = attn.num_heads, D // attn.num_heads
        q, k, v = attn.qkv(x).reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4)  # each (B, H, N, hd)
        weights = (q @ k.transpose(-2, -1) / hd**0.5).softmax(dim=-1)  # (B, H, N, N)
        merged = (weights @ v).transpose(1, 2).reshape(B, N, D)  # (B, N, H, hd): each token's heads side by side
        return attn.proj(merged)

    return multi_head


def solution_zeroed_branches():
    return "b"  # each branch adds exactly 0: x + 0 + 0 is x, bit for bit
