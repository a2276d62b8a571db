"""Extra `TabularProc`s for autoencoders: RankGauss (quantile-to-normal) for continuous columns."""
from __future__ import annotations
from fastai.tabular.all import *
from scipy.special import ndtri

__all__ = ['RankGauss']

class RankGauss(TabularProc):
    "Map each continuous column through its training quantiles onto a standard normal (Porto Seguro's RankGauss); decodes back to original units."
    order = 50
    def __init__(self, n_quantiles:int=1000): store_attr()
    def setups(self, to:Tabular):
        "Keep at most `n_quantiles` quantiles of each continuous column's training values."
        train = getattr(to, 'train', to)
        self.quantiles = {}
        for c in to.cont_names:
            x = train[c].to_numpy(np.float64)
            x = x[np.isfinite(x)]
            self.quantiles[c] = np.quantile(x, np.linspace(0, 1, max(2, min(self.n_quantiles, len(x))))) if len(x) else np.zeros(2)
    def _refs(self, c) -> np.ndarray:
        n = len(self.quantiles[c])
        return ndtri((np.arange(n) + 0.5) / n)
    def encodes(self, to:Tabular):
        "Map each continuous column through its quantiles to a standard normal."
        for c, q in self.quantiles.items():
            x, r = to[c].to_numpy(np.float64), self._refs(c)
            # averaging the ascending and descending interpolations maps tied quantiles to their middle
            to[c] = 0.5 * (np.interp(x, q, r) - np.interp(-x, -q[::-1], -r[::-1]))
    def decodes(self, to:Tabular):
        "Map standard normal values back to original units."
        for c, q in self.quantiles.items(): to[c] = np.interp(to[c].to_numpy(np.float64), self._refs(c), q)
