"""Swap noise, the corruption of the Porto Seguro winning denoising autoencoder."""
from __future__ import annotations
from fastai.torch_basics import *

__all__ = ['BatchSwapNoise']

class BatchSwapNoise(Module):
    "In training, replace each value with probability `p` by the same column's value in another row of the batch."
    def __init__(self, p:float|Sequence[float]=0.1):
        ps = np.atleast_1d(np.asarray(p, dtype=np.float64))
        if ((ps < 0) | (ps > 1)).any() or np.isnan(ps).any(): raise ValueError(f"swap_p must be in [0, 1], got {p!r}")
        self.p = p

    def forward(self, x:Tensor) -> Tensor:
        n = x.shape[0]
        if not self.training or n < 2 or x.numel() == 0 or not np.any(np.asarray(self.p)): return x
        p = self.p if isinstance(self.p, (int, float)) else torch.as_tensor(self.p, dtype=torch.float32, device=x.device)
        mask = torch.rand(x.shape, device=x.device) < p
        rows = (torch.arange(n, device=x.device)[:, None] + torch.randint(1, n, x.shape, device=x.device)) % n
        return torch.where(mask, x.gather(0, rows), x)
