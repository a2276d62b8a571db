"""`RecreatedLoss`: how well the autoencoder rebuilt its input."""
from __future__ import annotations
from fastai.callback.core import Callback
from fastai.torch_basics import *
from .model import _f32, _n_classes

__all__ = ['RecreatedLoss', 'BinLoss']

class RecreatedLoss(Module):
    "Cross-entropy per categorical column (averaged over them, optionally class-weighted) plus squared error per continuous column (averaged over them), per row."
    def __init__(self, cat_dict:dict|list, reduction:str='mean', class_weights:list=None):
        if reduction not in ('mean', 'sum', 'none'): raise ValueError(f"`reduction` must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.n_classes, self.reduction = _n_classes(cat_dict), reduction
        self.bounds = np.cumsum([0] + self.n_classes).tolist()
        self.offsets = tensor(self.bounds[:-1]).long()  # first logit of each column
        self.segment = torch.repeat_interleave(torch.arange(len(self.n_classes)), tensor(self.n_classes).long())  # column of each logit
        self.class_weights = torch.cat([_f32(w).flatten() for w in class_weights]) if class_weights else None

    def cross_entropy(self, logits:Tensor, cat_targs:Tensor) -> Tensor:
        "Cross-entropy of every categorical column, shape `(n, n_cats)`: segment-wise log-sum-exp in a few ops whatever the number of columns."
        x, n, k = logits.float(), len(logits), len(self.n_classes)
        segment, offsets, weights = self._on(x.device)
        seg, idx = segment.expand(n, -1), cat_targs + offsets
        with torch.no_grad(): m = x.new_full((n, k), -float('inf')).scatter_reduce(1, seg, x, 'amax')  # for stability only
        lse = m + x.new_zeros(n, k).scatter_add(1, seg, torch.exp(x - m.gather(1, seg))).log()
        ce = lse - x.gather(1, idx)
        return ce if weights is None else ce * weights[idx]

    def _on(self, device:torch.device) -> list:
        "The column index of each logit, each column's first logit and the class weights, on `device` (moved once, not per batch)."
        if getattr(self, '_device', None) != device:
            self._device, self._moved = device, [None if t is None else t.to(device) for t in (self.segment, self.offsets, self.class_weights)]
        return self._moved

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        for k in ('_device', '_moved'): state.pop(k, None)  # no device copies in pickles
        return state

    def row_losses(self, preds:tuple[Tensor, Tensor], cat_targs:Tensor, cont_targs:Tensor) -> Tensor:
        "The loss of each row, shape `(n,)`."
        logits, conts = preds
        res = cont_targs.new_zeros(cat_targs.shape[0], dtype=torch.float32)
        if self.n_classes: res = res + self.cross_entropy(logits, cat_targs).sum(1) / len(self.n_classes)
        if conts.shape[1]: res = res + ((conts.float() - cont_targs.float()) ** 2).sum(1) / conts.shape[1]
        return res

    def forward(self, preds:tuple[Tensor, Tensor], cat_targs:Tensor, cont_targs:Tensor) -> Tensor:
        "The loss of a batch: `row_losses` reduced by `reduction`."
        res = self.row_losses(preds, cat_targs, cont_targs)
        return res.mean() if self.reduction == 'mean' else res.sum() if self.reduction == 'sum' else res

    def decodes(self, preds:tuple[Tensor, Tensor|None]) -> tuple[Tensor, Tensor|None]:
        "Predicted class index per categorical column and the continuous values."
        logits, conts = preds
        cats = [logits[:, a:b].argmax(1) for a, b in zip(self.bounds, self.bounds[1:])]
        return (torch.stack(cats, 1) if cats else logits.new_zeros(len(logits), 0, dtype=torch.long)), conts

class BinLoss(Callback):
    "In training, add to the loss trained on (not the one logged) the bins' cross-entropy: each continuous column's bin, predicted by the model's `bin_head` from the decoder's output, summed over the columns / (n_cat + n_cont), per bin weighted by `class_weights` `(n_cont, n_bins)` if given."
    order = 5  # before the mixed-precision callback scales the loss
    def __init__(self, class_weights:Tensor=None): self.class_weights = class_weights
    def before_fit(self):
        self.model_ = get_model(self.learn.model)
        self.release()  # a fit that raised outside `AELearner.fit` never reached `after_fit`
        self.hook = self.model_.decoder.register_forward_hook(lambda m, i, o: setattr(self, 'h', o))
        w = self.class_weights
        self.w_ = None if w is None else w.to(self.model_.bin_edges.device)
    def after_fit(self): self.release()
    def release(self):
        "Remove the decoder hook (a fit that raised never reached `after_fit`: left, it keeps each decoder output and the model does not pickle)."
        if getattr(self, 'hook', None) is not None: self.hook.remove()
        self.hook = self.h = self.w_ = None
    def after_loss(self):
        if not self.training: return
        m = self.model_
        n_cont, n_cat = m.bin_edges.shape[0], len(m.n_classes)
        logits, targ = m.bin_head(self.h).float().view(len(self.h), n_cont, m.n_bins), m.bins(self.learn.yb[1])
        ce = -F.log_softmax(logits, -1).gather(2, targ[..., None])[..., 0]
        if self.w_ is not None: ce = ce * self.w_.gather(1, targ.T).T
        self.learn.loss_grad = self.learn.loss_grad + ce.mean() * n_cont / (n_cat + n_cont)
