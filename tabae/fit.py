"""`fit_autoencoder`: the recommended recipe in one call."""
from __future__ import annotations
from fastai.tabular.all import *
from .data import TabularPandasIdentity
from .encode import TabaeInputError, check_columns
from .learner import ae_learner

__all__ = ['KeepBest', 'ae_data', 'fit_autoencoder']

class KeepBest(TrackerCallback):
    "Keep the best weights by `monitor` in memory and load them after the fit (no files written)."
    order = TrackerCallback.order + 1
    def before_fit(self):
        super().before_fit()
        self.best_state = None
    def after_epoch(self):
        super().after_epoch()
        if self.new_best: self.best_state = {k: v.detach().clone() for k, v in self.learn.model.state_dict().items()}
    def after_fit(self):
        if self.best_state is not None: self.learn.model.load_state_dict(self.best_state)

def ae_data(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, procs:list=None, valid_pct:float=0.2,
            seed:int=0, bs:int=1024, device=None) -> DataLoaders:
    "Autoencoder `DataLoaders` for `df`: Categorify/FillMissing/Normalize, a seeded random `valid_pct` split."
    cat_names, cont_names = list(L(cat_names)), list(L(cont_names))
    check_columns(df, cat_names + cont_names, 'cat_names/cont_names')
    if not 0 <= valid_pct < 1: raise TabaeInputError(f"`valid_pct` must be in [0, 1), got {valid_pct!r}")
    splits = RandomSplitter(valid_pct, seed=seed)(range_of(df)) if valid_pct else (list(range(len(df))), [])
    to = TabularPandasIdentity(df[cat_names + cont_names], ifnone(procs, [Categorify, FillMissing, Normalize]),
                               cat_names, cont_names, splits=splits)
    return to.dataloaders(bs=bs, device=device)

@delegates(ae_learner)
def fit_autoencoder(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, code_size:int=128,
                    valid_pct:float=0.2, seed:int|None=0, epochs:int=20, lr:float=3e-3, bs:int=1024,
                    patience:int=4, procs:list=None, progress:bool=True, **kwargs) -> Learner:
    "Build the data and `ae_learner`, train with `fit_flat_cos` and early stopping on the validation split, and restore the best weights."
    if seed is not None: set_seed(seed, reproducible=True)
    dls = ae_data(df, cat_names, cont_names, procs=procs, valid_pct=valid_pct, seed=ifnone(seed, 0), bs=bs)
    learn = ae_learner(dls, code_size=code_size, **kwargs)
    monitor = 'valid_loss' if valid_pct else 'train_loss'
    cbs = [KeepBest(monitor=monitor), EarlyStoppingCallback(monitor=monitor, patience=patience)]
    with (nullcontext() if progress else learn.no_bar()), (nullcontext() if progress else learn.no_logging()):
        learn.fit_flat_cos(epochs, lr, cbs=cbs)
    return learn
