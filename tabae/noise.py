"""Swap noise, the corruption of the Porto Seguro winning denoising autoencoder."""
from __future__ import annotations
from fastai.callback.core import Callback
from fastai.torch_basics import *
from .errors import TabaeInputError

__all__ = ['BatchSwapNoise', 'SwapNoiseSchedule']

class BatchSwapNoise(Module):
    "In training, replace each value with probability `p` by the same column's value in another row of the batch."
    def __init__(self, p:float|Sequence[float]=0.1):
        ps = np.atleast_1d(np.asarray(p, dtype=np.float64))
        if ((ps < 0) | (ps > 1)).any() or np.isnan(ps).any(): raise TabaeInputError(f"`swap_p` must be in [0, 1], got {p!r}")
        self.p = ps.tolist() if np.ndim(p) else float(ps[0])  # plain floats, so `save_encoder`'s JSON takes numpy's too

    def forward(self, x:Tensor, cols:slice=slice(None)) -> Tensor:
        "Noisy `x` in training; with one rate per column, `cols` picks the rates of `x`'s columns."
        n = x.shape[0]
        p = float(self.p) if np.ndim(self.p) == 0 else np.asarray(self.p, dtype=np.float32)[cols]
        if not self.training or n < 2 or x.numel() == 0 or not np.any(p): return x
        if not isinstance(p, float | int): p = torch.as_tensor(p, device=x.device)
        mask = torch.rand(x.shape, device=x.device) < p
        rows = (torch.arange(n, device=x.device)[:, None] + torch.randint(1, n, x.shape, device=x.device)) % n
        return torch.where(mask, x.gather(0, rows), x)

class SwapNoiseSchedule(Callback):
    "Anneal every `BatchSwapNoise` rate from its value to `end` (cosine) over the last `1 - start` of training."
    order = 60
    def __init__(self, start:float=0.5, end:float=0.): store_attr()
    def before_fit(self):
        self.noises = [m for m in self.learn.model.modules() if isinstance(m, BatchSwapNoise)]
        self.p0 = [m.p for m in self.noises]
    def before_batch(self):
        if not self.training: return
        pct = max(0., (self.pct_train - self.start) / max(1e-8, 1 - self.start))
        f = (1 + math.cos(math.pi * min(pct, 1.))) / 2
        for m, p0 in zip(self.noises, self.p0): m.p = (np.asarray(p0) * f + self.end * (1 - f)).tolist() if is_listy(p0) else p0 * f + self.end * (1 - f)
    def after_fit(self):
        for m, p0 in zip(self.noises, self.p0): m.p = p0
