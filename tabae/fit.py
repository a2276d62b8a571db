"""`fit_autoencoder`: the recommended recipe in one call."""
from __future__ import annotations
import random
from contextlib import contextmanager, nullcontext
from fastai.tabular.all import *
from .data import ae_data, auto_bs  # auto_bs: also importable from here, where it lived before
from .errors import FitInterrupted, TabaeInputError
from .learner import AELearner, ae_learner
from .noise import SwapNoiseSchedule
from .validate import _check_fraction, _check_lr, _check_positive_int, _is_int

__all__ = ['RECIPE', 'ARTICLE_RECIPE', 'KeepBest', 'EarlyStopFrom', 'fit_autoencoder']

RECIPE = dict(ps=0., embed_p=0., head_p=0., code_p=0., class_balance=0.5, bound_pad=0.1, decoder='linear', bin_targets=16, bin_inputs=True, clip_inputs=True, input_skip=True)
"`ae_learner` settings that `fit_autoencoder` uses unless told otherwise (chosen by AdultBench scores on adult_test; benchmarks/RESULTS.md also judges them on rows no choice looked at)."

ARTICLE_RECIPE = dict(layers=(1024, 512, 256), ps=0.1, embed_p=0.01, swap_p=0.1, head_p=None, code_p=None, class_balance=0.,
                      bound_pad=0., decoder='mirror', bin_targets=0, bin_inputs=False, clip_inputs=False, input_skip=False, epochs=20, lr=3e-3, bs=1024, patience=4, anneal_noise=None)
"The article's settings, to reproduce its numbers: `fit_autoencoder(df, cats, conts, **ARTICLE_RECIPE)`."

class _TrackFrom(TrackerCallback):
    "A `TrackerCallback` that neither compares nor counts the epochs that start before `start` of the fit (a fraction)."
    def __init__(self, monitor:str='valid_loss', start:float=0., **kwargs):
        super().__init__(monitor=monitor, **kwargs)
        self.start = start
    def after_epoch(self):
        if self.epoch < self.start * self.n_epoch: return
        super().after_epoch()
        self.after_tracked()

class KeepBest(_TrackFrom):
    "Keep the best weights by `monitor` among the epochs from `start` of the fit on, in memory, and load them after the fit (no files written)."
    order = TrackerCallback.order + 1
    def before_fit(self):
        super().before_fit()
        self.best_state = None
    def after_tracked(self):
        if self.new_best: self.best_state = {k: v.detach().clone() for k, v in get_model(self.learn.model).state_dict().items()}
    def after_fit(self):
        if self.best_state is not None: get_model(self.learn.model).load_state_dict(self.best_state)

class EarlyStopFrom(_TrackFrom):
    "Stop the fit after `patience` epochs without a better `monitor`, counted from `start` of the fit on; says so unless the learner's logging is off (`no_logging`)."
    order = TrackerCallback.order + 3
    def __init__(self, monitor:str='valid_loss', patience:int=1, start:float=0., **kwargs):
        super().__init__(monitor=monitor, start=start, **kwargs)
        self.patience = patience
    def before_fit(self):
        self.wait = 0
        super().before_fit()
    def after_tracked(self):
        self.wait = 0 if self.new_best else self.wait + 1
        if self.wait < self.patience: return
        if self.learn.logger is not noop: print(f'No improvement since epoch {self.epoch - self.wait}: early stopping')
        raise CancelFitException()

@contextmanager
def _seeded(seed:int|None):
    "fastai's `set_seed(seed, reproducible=True)` inside, and the caller's random streams (`random`, numpy, torch, CUDA) and cudnn flags as they were after; nothing when `seed` is None."
    if seed is None: yield; return
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    state = random.getstate(), np.random.get_state(), torch.get_rng_state(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    set_seed(seed, reproducible=True)
    try: yield
    finally:
        random.setstate(state[0]); np.random.set_state(state[1]); torch.set_rng_state(state[2])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = state[3:]
        if cuda is not None: torch.cuda.set_rng_state_all(cuda)

def _recipe_defaults(f):
    "`f` with `RECIPE`'s values as the defaults its signature shows (`@delegates(ae_learner)` copies the article's, which `fit_autoencoder` does not use)."
    sig = inspect.signature(f)
    f.__signature__ = sig.replace(parameters=[p.replace(default=RECIPE[p.name]) if p.name in RECIPE else p for p in sig.parameters.values()])
    return f

@_recipe_defaults
@delegates(ae_learner)
def fit_autoencoder(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, code_size:int=128,
                    valid_pct:float=0.2, seed:int|None=0, epochs:int=40, lr:float|slice|list=5e-3, bs:int|None=None,
                    patience:int=8, procs:list=None, rank_gauss:bool=False, anneal_noise:float|None=0.5, track_from:float|None=None, progress:bool=True,
                    cbs:list=None, valid_idx:list=None, **kwargs) -> AELearner:
    "The recommended recipe in one call: `ae_data` (a `valid_pct` split seeded by `seed`), `ae_learner(**RECIPE)`, `fit_flat_cos` with swap noise annealed to 0, early stopping and the best validation weights."
    # the split: unseeded with `seed=None` except in a distributed fit, whose processes must hold out the same rows (seed 0); or the rows at `valid_idx`.
    # `bs`: `auto_bs` unless given. The anneal starts `anneal_noise` of the way in; early stopping and the best weights count from `track_from` (default: the anneal's start).
    _check_positive_int('epochs', epochs); _check_positive_int('patience', patience)
    _check_fraction('anneal_noise', anneal_noise, 'where the swap noise starts to fall to 0'); _check_fraction('track_from', track_from, 'where the best epoch is looked for')
    lr = _check_lr(lr)
    if seed is not None and not _is_int(seed): raise TabaeInputError(f"`seed` must be an int or None, got {seed!r}")
    seed = None if seed is None else int(seed)  # numpy ints too, which `random.seed` cannot take
    with _seeded(seed):
        dls = ae_data(df, cat_names, cont_names, procs=procs, valid_pct=valid_pct, seed=seed if seed is not None or num_distrib() < 2 else 0, bs=bs, rank_gauss=rank_gauss, valid_idx=valid_idx)
        kw = {**RECIPE, **kwargs}
        if not kw['bin_targets'] and 'bin_inputs' not in kwargs: kw['bin_inputs'] = False  # `bin_targets=0` turns the recipe's bins off, inputs too
        learn = ae_learner(dls, code_size=code_size, **kw)
        monitor = 'valid_loss' if dls.valid.n else 'train_loss'
        start = ifnone(track_from, ifnone(anneal_noise, 0.))
        keep = KeepBest(monitor=monitor, start=start)
        cbs = L(cbs) + [keep, EarlyStopFrom(monitor=monitor, patience=patience, start=start)]
        if anneal_noise is not None: cbs.append(SwapNoiseSchedule(start=anneal_noise))
        with (nullcontext() if progress else learn.no_bar()), (nullcontext() if progress else learn.no_logging()):
            try: learn.fit_flat_cos(epochs, lr, cbs=cbs)
            except KeyboardInterrupt as e: raise _interrupted(learn, keep, epochs) from e
    return learn

def _interrupted(learn:AELearner, keep:KeepBest, epochs:int) -> FitInterrupted:
    "The `FitInterrupted` for a Ctrl-C in epoch `learn.epoch`: `learn` with `keep`'s best weights loaded, if it has any yet."
    if keep.best_state is None: state = f"the weights as trained so far (the best are tracked from {keep.start:.0%} of the fit on)"
    else:
        get_model(learn.model).load_state_dict(keep.best_state)
        state = f"the best weights of the epochs from {keep.start:.0%} of the fit on"
    return FitInterrupted(f"`fit_autoencoder` stopped in epoch {getattr(learn, 'epoch', 0) + 1} of {epochs}: its learner, with {state}, is the exception's `learn` "
                          "(in Jupyter or the REPL: `learn = sys.last_value.learn`)", learn)
