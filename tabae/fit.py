"""`fit_autoencoder`: the recommended recipe in one call."""
from __future__ import annotations
from contextlib import nullcontext
from fastai.tabular.all import *
from .data import TabularPandasIdentity
from .procs import RankGauss
from .encode import TabaeInputError, check_columns
from .learner import ae_learner
from .noise import SwapNoiseSchedule
from .validate import clean_train_frame

__all__ = ['RECIPE', 'ARTICLE_RECIPE', 'KeepBest', 'ae_data', 'fit_autoencoder']

RECIPE = dict(ps=0., embed_p=0., head_p=0., code_p=0., class_balance=0.5, bound_pad=0.1)
"`ae_learner` settings that `fit_autoencoder` uses unless told otherwise (chosen on AdultBench; see benchmarks/RESULTS.md)."

ARTICLE_RECIPE = dict(layers=(1024, 512, 256), ps=0.1, embed_p=0.01, swap_p=0.1, head_p=None, code_p=None, class_balance=0.,
                      bound_pad=0., epochs=20, lr=3e-3, patience=4, anneal_noise=None)
"The article's settings, to reproduce its numbers: `fit_autoencoder(df, cats, conts, **ARTICLE_RECIPE)`."

class KeepBest(TrackerCallback):
    "Keep the best weights by `monitor` in memory and load them after the fit (no files written)."
    order = TrackerCallback.order + 1
    def before_fit(self):
        super().before_fit()
        self.best_state = None
    def after_epoch(self):
        super().after_epoch()
        if self.new_best: self.best_state = {k: v.detach().clone() for k, v in get_model(self.learn.model).state_dict().items()}
    def after_fit(self):
        if self.best_state is not None: get_model(self.learn.model).load_state_dict(self.best_state)

def ae_data(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, procs:list=None, valid_pct:float=0.2,
            seed:int=0, bs:int=1024, device=None, rank_gauss:bool=False) -> DataLoaders:
    "Autoencoder `DataLoaders` for `df`: Categorify/FillMissing(/RankGauss)/Normalize unless `procs` given, a seeded random `valid_pct` split."
    cat_names, cont_names = list(L(cat_names)), list(L(cont_names))
    check_columns(df, cat_names + cont_names, 'cat_names/cont_names')
    if not 0 <= valid_pct < 1: raise TabaeInputError(f"`valid_pct` must be in [0, 1), got {valid_pct!r}")
    splits = RandomSplitter(valid_pct, seed=seed)(range_of(df)) if valid_pct else (list(range(len(df))), [])
    df = clean_train_frame(df, cat_names, cont_names, splits, valid_pct)
    procs = ifnone(procs, [Categorify, FillMissing] + ([RankGauss] if rank_gauss else []) + [Normalize])
    to = TabularPandasIdentity(df[cat_names + cont_names], procs,
                               cat_names, cont_names, splits=splits)
    return to.dataloaders(bs=bs, device=device)

@delegates(ae_learner)
def fit_autoencoder(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, code_size:int=128,
                    valid_pct:float=0.2, seed:int|None=0, epochs:int=40, lr:float=5e-3, bs:int=1024,
                    patience:int=8, procs:list=None, rank_gauss:bool=False, anneal_noise:float|None=0.5, progress:bool=True,
                    cbs:list=None, **kwargs) -> Learner:
    "Build the data and `ae_learner` (`RECIPE` unless overridden), train with `fit_flat_cos`, swap noise annealed to 0 from `anneal_noise` of the way, early stopping on the validation split, and restore the best weights."
    if seed is not None: set_seed(seed, reproducible=True)
    dls = ae_data(df, cat_names, cont_names, procs=procs, valid_pct=valid_pct, seed=ifnone(seed, 0), bs=bs, rank_gauss=rank_gauss)
    learn = ae_learner(dls, code_size=code_size, **{**RECIPE, **kwargs})
    monitor = 'valid_loss' if valid_pct else 'train_loss'
    cbs = L(cbs) + [KeepBest(monitor=monitor), EarlyStoppingCallback(monitor=monitor, patience=patience)]
    if anneal_noise is not None: cbs.append(SwapNoiseSchedule(start=anneal_noise))
    with (nullcontext() if progress else learn.no_bar()), (nullcontext() if progress else learn.no_logging()):
        learn.fit_flat_cos(epochs, lr, cbs=cbs)
    return learn
