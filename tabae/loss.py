"""`RecreatedLoss`: how well the autoencoder rebuilt its input."""
from __future__ import annotations
from fastai.torch_basics import *
from .model import _n_classes

__all__ = ['RecreatedLoss']

class RecreatedLoss(Module):
    "Cross-entropy per categorical column (averaged over them, optionally class-weighted) plus squared error per continuous column (averaged over them), per row."
    def __init__(self, cat_dict:dict|list, reduction:str='mean', class_weights:list=None):
        if reduction not in ('mean', 'sum', 'none'): raise ValueError(f"`reduction` must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.n_classes, self.reduction = _n_classes(cat_dict), reduction
        self.bounds = np.cumsum([0] + self.n_classes).tolist()
        self.class_weights = None if class_weights is None else [tensor(w).float() for w in class_weights]

    def row_losses(self, preds, cat_targs:Tensor, cont_targs:Tensor) -> Tensor:
        "The loss of each row, shape `(n,)`."
        logits, conts = preds
        res = cont_targs.new_zeros(cat_targs.shape[0], dtype=torch.float32)
        if self.n_classes:
            ws = [None] * len(self.n_classes) if self.class_weights is None else [w.to(logits.device) for w in self.class_weights]
            ce = torch.stack([F.cross_entropy(logits[:, a:b].float(), cat_targs[:, i], weight=w, reduction='none')
                              for i, (a, b, w) in enumerate(zip(self.bounds, self.bounds[1:], ws))], 1)
            res = res + ce.sum(1) / len(self.n_classes)
        if conts.shape[1]: res = res + ((conts.float() - cont_targs.float()) ** 2).sum(1) / conts.shape[1]
        return res

    def forward(self, preds, cat_targs:Tensor, cont_targs:Tensor) -> Tensor:
        res = self.row_losses(preds, cat_targs, cont_targs)
        return res.mean() if self.reduction == 'mean' else res.sum() if self.reduction == 'sum' else res

    def decodes(self, preds) -> tuple[Tensor, Tensor]:
        "Predicted class index per categorical column and the continuous values."
        logits, conts = preds
        cats = [logits[:, a:b].argmax(1) for a, b in zip(self.bounds, self.bounds[1:])]
        return (torch.stack(cats, 1) if cats else logits.new_zeros(len(logits), 0, dtype=torch.long)), conts
