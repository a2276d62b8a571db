"""fastai metrics for autoencoder training: reconstruction R2 and categorical accuracy (over every process's rows in data-parallel runs)."""
from __future__ import annotations
from fastai.learner import Metric
from fastai.torch_basics import *
from .loss import RecreatedLoss

__all__ = ['ReconR2', 'CatAccuracy']

class ReconR2(Metric):
    "Mean over continuous columns of the reconstruction R2 on the validation set."
    def reset(self): self.n, self.s, self.ss, self.sse = 0, 0., 0., 0.
    def accumulate(self, learn):
        pred, targ = (t.float() for t in learn.to_detach((learn.pred[1], learn.yb[1]), cpu=False))  # gathered over the processes, if several
        self.n += len(targ)
        self.s, self.ss = self.s + targ.sum(0), self.ss + (targ ** 2).sum(0)
        self.sse = self.sse + ((pred - targ) ** 2).sum(0)
    @property
    def value(self):
        if not self.n or not torch.is_tensor(self.s) or not self.s.numel(): return None
        sst = self.ss - self.s ** 2 / self.n
        r2 = 1 - self.sse / sst
        return r2[sst > 1e-12 * self.n].mean().item() if (sst > 1e-12 * self.n).any() else None
    @property
    def name(self): return 'recon_r2'

class CatAccuracy(Metric):
    "Mean over categorical columns of the reconstruction accuracy on the validation set."
    def __init__(self, cat_dict:dict|list):
        self.decode = RecreatedLoss(cat_dict).decodes
    def reset(self): self.n, self.correct = 0, 0.
    def accumulate(self, learn):
        logits, targ = learn.to_detach((learn.pred[0], learn.yb[0]), cpu=False)  # gathered over the processes, if several
        cats = self.decode((logits, None))[0]
        self.n += len(cats)
        self.correct = self.correct + (cats == targ).float().sum(0)
    @property
    def value(self):
        if not self.n or not torch.is_tensor(self.correct) or not self.correct.numel(): return None
        return (self.correct / self.n).mean().item()
    @property
    def name(self): return 'cat_acc'
