"""fastai metrics for autoencoder training: reconstruction R2 and categorical accuracy (over every process's rows in data-parallel runs)."""
from __future__ import annotations
from fastai.learner import Metric
from fastai.torch_basics import *
from .loss import RecreatedLoss

__all__ = ['ReconR2', 'CatAccuracy']

class ReconR2(Metric):
    "Mean over continuous columns of the reconstruction R2 on the validation set, in the model's units (under `Normalize` the R2 of original units), leaving out values `FillMissing` filled where `na_flags` says."
    na_flags = {}  # learners exported before `na_flags` existed unpickle with none
    def __init__(self, na_flags:dict|None=None): self.na_flags = na_flags or {}  # {cont index: (index of its `<col>_na` column, the code of True)}
    def reset(self): self.n, self.mean, self.sst, self.sse = 0., 0., 0., 0.
    def accumulate(self, learn):
        pred, targ = (t.float() for t in learn.to_detach((learn.pred[1], learn.yb[1]), cpu=False))  # gathered over the processes, if several
        w = torch.ones_like(targ)
        if self.na_flags:
            cats = learn.to_detach(learn.yb[0], cpu=False)
            for i, (j, code) in self.na_flags.items(): w[:, i] = (cats[:, j] != code).float()
        # the targets' sum of squares about their mean, merged batch by batch (Chan et al.): a column constant in the validation rows gives 0, where
        # sum(x**2) - sum(x)**2/n in float32 left rounding noise that its R2 divided by (-89,557 for a column of 0.3)
        nb = w.sum(0)
        n, mb = self.n + nb, (w * targ).sum(0) / nb.clamp_min(1)
        delta = mb - self.mean
        self.sst = self.sst + (w * (targ - mb) ** 2).sum(0) + delta ** 2 * self.n * nb / n.clamp_min(1)
        self.mean, self.n = self.mean + delta * nb / n.clamp_min(1), n
        self.sse = self.sse + (w * (pred - targ) ** 2).sum(0)
    @property
    def value(self):
        "The mean R2 over the columns scored."
        if not torch.is_tensor(self.sst) or not self.sst.numel(): return None
        ok = (self.n > 0) & (self.sst > 1e-12 * self.n)
        return (1 - self.sse / self.sst)[ok].mean().item() if ok.any() else None
    @property
    def name(self): return 'recon_r2'

class CatAccuracy(Metric):
    "Mean over categorical columns (those at `cols` if given) of the reconstruction accuracy on the validation set."
    cols = None  # learners exported before `cols` existed: every column
    def __init__(self, cat_dict:dict|list, cols:list|None=None):
        self.decode, self.cols = RecreatedLoss(cat_dict).decodes, cols
    def reset(self): self.n, self.correct = 0, 0.
    def accumulate(self, learn):
        logits, targ = learn.to_detach((learn.pred[0], learn.yb[0]), cpu=False)  # gathered over the processes, if several
        cats = self.decode((logits, None))[0]
        self.n += len(cats)
        self.correct = self.correct + (cats == targ).float().sum(0)
    @property
    def value(self):
        "The mean accuracy over the columns scored."
        if not self.n or not torch.is_tensor(self.correct) or not self.correct.numel(): return None
        acc = self.correct / self.n
        return (acc if self.cols is None else acc[self.cols]).mean().item()
    @property
    def name(self): return 'cat_acc'
