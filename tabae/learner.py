"""`ae_learner`: a fastai `Learner` for a `TabularAE`, built from the `DataLoaders` alone."""
from __future__ import annotations
import inspect, warnings
from fastai.tabular.all import *
from .activations import FastMish
from .data import TabDataLoaderIdentity
from .encode import encode, reconstruct
from .errors import InputShiftWarning, TabaeInputError, UnseenCategoryWarning
from .loss import BinLoss, RecreatedLoss
from .metrics import CatAccuracy, ReconR2
from .model import TabularAE, _finite_weights, _widen, bucketize_cols
from .noise import BatchSwapNoise
from .precision import AutoMixedPrecision, _AutocastState
from .process import _classes_per_column
from .validate import _as_list, _check_emb_szs, _check_nonneg, _check_procs, _proc, check_hparams, check_train_data, user_columns

__all__ = ['FiniteLoss', 'cont_bounds', 'cont_bin_edges', 'class_weights', 'bin_weights', 'AELearner', 'ae_splitter', 'ae_learner']

class AELearner(Learner):
    "The `Learner` of a `TabularAE` (what `ae_learner`, `fit_autoencoder` and `load_encoder` return): `predict` takes one row, as `TabularLearner.predict` does."
    def predict(self, row:pd.Series) -> tuple[pd.Series, Tensor]:
        "`(rebuilt, code)` of one row given as a `pd.Series` (e.g. `df.iloc[0]`): the row rebuilt in labels and original units, and its code."
        if not isinstance(row, pd.Series):
            hint = "for many rows use `encode` or `reconstruct`" if isinstance(row, pd.DataFrame) else "wrap it, e.g. `pd.Series(row)`"
            raise TabaeInputError(f"`predict` takes one row as a pandas Series (e.g. `df.iloc[0]`), got {type(row).__name__}: {hint}")
        df = pd.DataFrame([row.to_dict()], index=[row.name])  # dtypes from the values: a Series of mixed values holds them as objects
        rebuilt = reconstruct(self, df, progress=False).iloc[0]  # warns of unseen categories, once
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UnseenCategoryWarning); warnings.simplefilter('ignore', InputShiftWarning)  # said once, by `reconstruct`
            return rebuilt, torch.tensor(encode(self, df, progress=False).to_numpy()[0])

    def _check_rows(self):
        if not len(self.dls.train_ds):
            raise TabaeInputError("The training split has no rows (a loaded or exported learner keeps none): to train on new rows, process them with its DataLoaders, "
                                  "`dls = learn.dls; learn.dls = AEDataLoaders(dls.test_dl(df, shuffle=True, drop_last=True), dls.test_dl(valid_df))`")
        _check_procs(self)

    def fit(self, n_epoch:int, *args, **kwargs) -> None:
        "fastai's `fit` (so `fit_one_cycle`, `fine_tune`, ...), refusing DataLoaders without rows or processed apart from the model's data, and setting things back when it raises."
        # A loaded or exported learner has no rows; `learn.dls = AEDataLoaders.from_df(new_df)` renumbers the classes. When the fit raises (Ctrl-C too) fastai runs
        # no `after_fit`: a `SwapNoiseSchedule` would leave the rates annealed, `BinLoss` its hook, and bf16 autocast would stay on for the process, whichever callback opened it.
        self._check_rows()
        noises = [m for m in self.model.modules() if isinstance(m, BatchSwapNoise)]
        rates, amp = [m.p for m in noises], _AutocastState()
        try: return super().fit(n_epoch, *args, **kwargs)
        except BaseException:
            for m, p in zip(noises, rates): m.p = p
            for cb in self.cbs:
                if hasattr(type(cb), 'release'): cb.release()  # `BinLoss`'s hook; the type's: fastai's callbacks delegate unknown attributes to the learner
            amp.restore()  # any mixed-precision callback's autocast (fastai's on CUDA too)
            raise

    @delegates(Learner.lr_find)
    def lr_find(self, **kwargs) -> SuggestedLRs:
        "fastai's `lr_find`, refused as `fit` is (no training rows, or rows processed apart from the model's data); the model left in the mode it was in (fastai's leaves it training: codes with swap noise)."
        self._check_rows()
        was_training = self.model.training
        try: return super().lr_find(**kwargs)
        finally: self.model.train(was_training)

    def _split_rows(self, ds_idx:int, what:str) -> int:
        "The rows of split `ds_idx`, or a `TabaeInputError` saying why it has none and what to pass instead (`what`: to do what)."
        if n := self.dls[ds_idx].n: return n
        split = {0: 'training', 1: 'validation'}.get(ds_idx, f'`dls[{ds_idx}]`')
        why = ("(fitted with `valid_pct=0`?): pass `ds_idx=0` for training rows, or" if self.dls.train.n else
               "(a loaded or exported learner keeps no rows): pass")
        raise TabaeInputError(f"The {split} split has no rows {what} {why} `dl=learn.dls.test_dl(df)` for the rows of a DataFrame")

    def validate(self, ds_idx:int=1, dl:DataLoader=None, cbs=None) -> list:
        "fastai's `validate`: the loss and metrics on split `ds_idx` (or `dl`); an empty split is named in a `TabaeInputError` (fastai's gave `[None, None, None]`), as are DataLoaders processed apart from the model's data."
        _check_procs(self)
        if dl is None: self._split_rows(ds_idx, 'to validate on')
        return super().validate(ds_idx=ds_idx, dl=dl, cbs=cbs)

    def get_preds(self, *args, **kwargs):
        "fastai's `get_preds` (and so `show_results`), with its arguments, refused when `learn.dls` were processed apart from the model's data (a class past the model's embeddings failed inside torch)."
        _check_procs(self)
        return super().get_preds(*args, **kwargs)
    get_preds.__signature__ = inspect.signature(Learner.get_preds)

    def summary(self) -> str:
        "fastai's `summary`, which runs one training batch: refused as `fit` is when the training split has no rows (fastai's said only that the loader has no batches)."
        self._check_rows()
        return super().summary()

    def show_results(self, ds_idx:int=1, dl:DataLoader=None, max_n:int=9, shuffle:bool=True, **kwargs) -> pd.DataFrame|None:
        "fastai's `show_results`: rows of split `ds_idx` (or `dl`) above their rebuilds, returned with `show=False`; a one-row split is shown unshuffled, an empty one named in a `TabaeInputError`."
        if dl is None:
            n = self._split_rows(ds_idx, 'to show')
            dl = self.dls[ds_idx].new(shuffle=shuffle and n > 1)  # a shuffled one-row loader yields no batch: BatchNorm never sees one in training
        b = dl.one_batch()
        _, _, dec = self.get_preds(dl=[b], with_decoded=True)
        return dl.show_results(b, dec, max_n=max_n, **kwargs)  # fastai's returns nothing: with `show=False`, the rows

    def to_bf16(self) -> AELearner:
        "fastai's `to_bf16` on CUDA; on another device, where fastai's `MixedPrecision` autocasts nothing, one `AutoMixedPrecision` in bf16 (the other mixed-precision callbacks removed)."
        if torch.device(ifnone(self.dls.device, 'cpu')).type == 'cuda': return super().to_bf16()
        self.remove_cb(MixedPrecision)  # its subclasses too
        return self.add_cb(AutoMixedPrecision(torch.bfloat16))

    def tta(self, *args, **kwargs):
        "Refused with a clear `TabaeInputError`: fastai's `tta` averages over training-time augmentation, and a rebuild has none (swap noise is for training); it failed inside fastai."
        raise TabaeInputError("`tta` averages predictions over training-time augmentation; an autoencoder's rebuilds have none to average (swap noise only trains it): "
                              "use `learn.get_preds(dl=...)`, `learn.reconstruct(df)` or `learn.encode(df)`")

class FiniteLoss(Callback):
    "Stop training with a `TabaeInputError` as soon as the loss to train on (bin loss included) is NaN or infinite, saying what to change; `lr_find`'s sweep just ends there, as at its divergence."
    def before_backward(self):
        if not self.training or torch.isfinite(self.learn.loss_grad).all(): return
        if any(isinstance(cb, LRFinder) for cb in self.learn.cbs) and self.learn.recorder.losses: raise CancelFitException()  # a sweep with finite losses to suggest from
        to, loss = self.dls.train_ds, self.learn.loss
        big = {c: f"{v:.3g}" for c, v in to.conts.abs().max().items() if v > 100} if _proc(to, Normalize) is None and len(to.cont_names) else {}
        mixed = any(isinstance(cb, MixedPrecision) and cb.run for cb in self.learn.cbs)
        why = (f"continuous column(s) reach |x| of {big} after the procs, which have no `Normalize`: add it to `procs`" if big else
               "lower `lr`" + (", or turn `mixed_precision` off" if mixed else ""))
        if not _finite_weights(self.learn.model):
            why = "the weights are no longer finite (an earlier step diverged): build a new learner or load saved weights, then " + why
        raise TabaeInputError(f"The training loss became {(loss if not torch.isfinite(loss).all() else self.learn.loss_grad).item()} in epoch {self.epoch}, batch {self.iter}: {why}")

def _metrics(to:Tabular) -> list:
    "`ReconR2` when `to` has continuous columns (values `FillMissing` filled left out), `CatAccuracy` over the user's categorical columns (not its `<col>_na` flags) when it has any."
    cats = user_columns(to)[0]
    flags = {i: (to.cat_names.index(f), to.classes[f].o2i[True]) for i, c in enumerate(to.cont_names)
             if (f := f'{c}_na') in to.cat_names and f not in cats and True in to.classes[f].o2i}
    return [m for m, ok in ((ReconR2(flags), len(to.cont_names)), (CatAccuracy(_classes_per_column(to), [to.cat_names.index(c) for c in cats]), cats)) if ok]

def cont_bounds(dls:DataLoaders, pad:float=0.) -> tuple[Tensor, Tensor]:
    "Per-column (low, high) of the training split's normalized continuous values, widened by `pad` times the range (for a `TabularAE` without `bound_pad`; with it, pass the range itself: the head widens it)."
    conts = dls.train.conts
    if not len(conts): raise TabaeInputError("The training split has no rows: cannot set the continuous bounds")
    return _widen(conts.min(0).values.float().cpu(), conts.max(0).values.float().cpu(), pad)

def cont_bin_edges(dls:DataLoaders, n_bins:int=16) -> Tensor:
    "Per continuous column, the `n_bins - 1` edges at quantiles of its distinct normalized training values (so a spike at one value leaves the tail its bins), `inf`-padded: shape `(n_cont, n_bins - 1)`."
    conts = dls.train.conts.float().cpu()
    res = torch.full((conts.shape[1], n_bins - 1), float('inf'))
    for j in range(conts.shape[1]):
        e = torch.unique(torch.quantile(torch.unique(conts[:, j]), torch.linspace(0, 1, n_bins + 1)[1:-1]))
        res[j, :len(e)] = e
    return res

def _balanced(counts:Tensor, alpha:float) -> Tensor:
    "Per-class weights `(count + 1)**-alpha`, scaled to average 1 over the rows that `counts` counts."
    w = (counts.float() + 1) ** -alpha
    return w * counts.sum() / (w * counts).sum().clamp_min(1e-12)

def class_weights(dls:DataLoaders, alpha:float=0.5) -> list[Tensor]:
    "Per-class cross-entropy weights `(count + 1)**-alpha` from the training split, scaled to average 1 over its rows."
    cats, to = dls.train.cats.cpu(), dls.train_ds
    return [_balanced(torch.bincount(cats[:, i], minlength=len(to.classes[c])), alpha) for i, c in enumerate(to.cat_names)]

def bin_weights(dls:DataLoaders, edges:Tensor, alpha:float=0.5) -> Tensor:
    "Per continuous column and bin of `edges`, the weights `class_weights` would give the bins as classes: shape `(n_cont, n_bins)`."
    bins = bucketize_cols(dls.train.conts.cpu(), edges)
    return torch.stack([_balanced(torch.bincount(bins[:, j], minlength=edges.shape[1] + 1), alpha) for j in range(edges.shape[0])])

_LEARNER_ARGS = set(inspect.signature(Learner.__init__).parameters) - {'self', 'dls', 'model', 'loss_func'}  # what `ae_learner` passes on

@delegates(Learner.__init__, but=['loss_func'])
def ae_learner(dls:DataLoaders,
    code_size:int=128, # size of the code
    layers:list=(1024, 512, 256), # encoder sizes; the mirrored decoder reverses them, the linear one maps the code to the first
    ps:float=0.1, # dropout in the decoder's hidden layers (the article's `ps`)
    enc_ps:float=0., # dropout in the encoder's hidden layers (none in the article)
    embed_p:float=0.01, # dropout on the embeddings
    swap_p:float|list=0.1, # swap noise rate: one for all, or one per column of `dls` (`cat_names` incl. `<col>_na`, then `cont_names`)
    act_cls:type=FastMish, # activation (`nn.Mish` with a fast bf16 CPU path)
    head_p:float|None=None, # dropout before the heads (defaults to `ps`)
    code_p:float|None=None, # dropout on the code in the decoder (defaults to `ps`)
    emb_szs:dict=None, # embedding size overrides, `{column: size}`
    bound_pad:float=0., # widen the continuous head's range by this fraction of each column's range
    class_balance:float=0., # weight each class's cross-entropy by `(count + 1)**-class_balance` (0: unweighted, as the article)
    opt_func:Callable=ranger, # optimizer
    wd:float|None=0.01, # weight decay
    mixed_precision:bool=True, # bf16/fp16 autocast where the device supports it
    decoder:str='mirror', # 'mirror' (the encoder reversed, as the article) or 'linear' (one linear layer)
    bin_targets:int=0, # also predict each continuous column's bin among this many (`cont_bin_edges`) in training (`BinLoss`); 0: off
    bin_inputs:bool=False, # also embed each continuous column's bin (the `bin_targets` bins) as an input
    code_act:str|None=None, # None: a linear code; 'relu': a rectified code, for tree models downstream (see benchmarks/RESULTS.md)
    clip_inputs:bool=False, # clip continuous inputs to the head's range (the training range widened by `bound_pad`) before the encoder
    input_skip:bool=False, # add a linear map of the encoder's input to the code, beside the MLP
    **kwargs
) -> AELearner:
    "An `AELearner` with a `TabularAE` and `RecreatedLoss` sized from `dls` (the article's defaults), on `dls.device`."
    if 'loss_func' in kwargs: raise TypeError("`loss_func`: `ae_learner` builds its `RecreatedLoss` from `dls` (classes, bounds, weights); to use another, set `learn.loss_func` on the learner it returns")
    if unknown := [k for k in kwargs if k not in _LEARNER_ARGS]:
        raise TypeError(f"Unknown argument(s) {unknown} for `ae_learner`/`fit_autoencoder`: neither theirs nor one of fastai's `Learner` ({', '.join(sorted(_LEARNER_ARGS))})")
    kwargs = {k: v.item() if isinstance(v, np.generic) else v for k, v in {**kwargs, 'wd': wd}.items()}  # numpy numbers (`wd`, `lr`), which fastai's optimizer cannot take
    to, layers = dls.train_ds, _as_list(layers)
    if not isinstance(dls.train, TabDataLoaderIdentity): raise TabaeInputError("`dls` must yield (cats, conts, cats, conts) batches: build them with `TabularPandasIdentity`")
    for name, v in (('bound_pad', bound_pad), ('class_balance', class_balance)) + ((('wd', wd),) if wd is not None else ()): _check_nonneg(name, v)  # wd None: the optimizer's own
    _check_emb_szs(emb_szs, to.cat_names)
    check_train_data(dls); check_hparams(code_size, layers, ps, swap_p, n_in=len(to.cat_names) + len(to.cont_names), decoder=decoder, bin_targets=bin_targets, bin_inputs=bin_inputs, code_act=code_act)
    edges = cont_bin_edges(dls, bin_targets) if bin_targets and to.cont_names else None
    cat_dict = _classes_per_column(to)
    low, high = cont_bounds(dls)  # the training range, which the head widens by `bound_pad`
    model = TabularAE(get_emb_sz(to, ifnone(emb_szs, {})), len(to.cont_names), code_size, cat_dict, low, high,
                      layers=layers, ps=ps, embed_p=embed_p, swap_p=swap_p, act_cls=act_cls, head_p=head_p, code_p=code_p, enc_ps=enc_ps,
                      decoder=decoder, bin_edges=edges, bin_inputs=bin_inputs and edges is not None, code_act=code_act,
                      clip_inputs=clip_inputs, input_skip=input_skip, bound_pad=bound_pad)
    bin_loss = [BinLoss(bin_weights(dls, edges, class_balance) if class_balance else None)] if edges is not None else []
    loss = RecreatedLoss(cat_dict, class_weights=class_weights(dls, class_balance) if class_balance else None)
    return _assemble(dls, model, loss, bin_loss, dls.device, mixed_precision, opt_func=opt_func, **kwargs)

def ae_splitter(m:TabularAE) -> list:
    "Parameter groups of a `TabularAE` for fastai's `freeze` and discriminative learning rates: the encoder (embeddings, input BatchNorm, layers, input skip), then the decoder and heads; `fine_tune` then trains the decoder alone first."
    m = get_model(m)
    enc = [m.embeds, m.bn_cont, m.layers, getattr(m, 'skip', None)]
    return [[p for o in enc if o is not None for p in o.parameters()], [p for n, p in m.named_parameters() if not n.startswith(('embeds.', 'bn_cont.', 'layers.', 'skip.'))]]

def _assemble(dls:DataLoaders, model:TabularAE, loss:RecreatedLoss, bin_loss:list, device, mixed_precision:bool, **kwargs) -> AELearner:
    "The `AELearner` of `model` and `loss` on `device` (default: the GPU if any), with tabae's callbacks (`FiniteLoss`, `AutoMixedPrecision` with `mixed_precision`, `bin_loss`) after any in `cbs`, and `_metrics` unless `metrics` is given: as `ae_learner` builds it and `load_encoder` rebuilds it."
    dev = torch.device(ifnone(device, default_device()))
    cbs = L(kwargs.pop('cbs', None)) + [FiniteLoss()] + ([AutoMixedPrecision()] if mixed_precision else []) + bin_loss
    learn = AELearner(dls.to(dev), model.to(dev), loss_func=loss, metrics=kwargs.pop('metrics', _metrics(dls.train_ds)), cbs=cbs, splitter=kwargs.pop('splitter', ae_splitter), **kwargs)
    learn._procs = dls.train_ds.new_empty()  # what the model's inputs mean (its procs, no rows): `fit`, `validate`, `get_preds`, `encode` and `save_encoder` refuse DataLoaders processed otherwise
    return learn
