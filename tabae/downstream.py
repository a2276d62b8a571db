"""Codes as features: `DataLoaders` for `tabular_learner` built from a DataFrame's codes."""
from __future__ import annotations
import warnings
from fastai.tabular.all import *
from .data import _index_splits, _random_splits, _shrink, _train_classes
from .encode import encode
from .errors import TabaeInputError, _caller_level, _some
from .process import _ClassIndex
from .validate import _check_positive_int, _check_valid_pct, _cont_column, _in_procs, _listify, cat_column, check_columns, clean_encode_frame, user_columns

__all__ = ['codes_frame', 'codes_dls']

def _code_cols(learn:Learner) -> list: return [f'ae_{i}' for i in range(learn.model.code_size)]  # as `encode` names them

def codes_frame(learn:Learner, df:pd.DataFrame, y_names:str|list|None=None, keep_raw:bool=False, bs:int=4096) -> pd.DataFrame:
    "The codes of `df` beside its `y_names` (and, when `keep_raw`, its raw cat/cont columns: categories that match an encoder class by value as that class, others as they are, gaps as NaN; integers as they are, other numbers as floats with infinities as NaN), same index; a target may not be a column the encoder was trained on (its codes would leak it), nor named as a code column."
    y_names = _listify(y_names)
    check_columns(df, y_names, 'the targets')
    cats, conts = user_columns(learn.dls.train_ds)
    if clash := [c for c in y_names if c in cats + conts]:  # with `keep_raw` a feature as well
        raise TabaeInputError(f"Target(s) {clash} are also columns the encoder was trained on, so each row's code holds its own target and a model on the codes "
                              "reads the answer (held-out scores too): refit the encoder without them (leave them out of `cat_names`/`cont_names`; `tabae fit --drop`). "
                              "A copy of such a column under another name leaks the same way")
    codes = _code_cols(learn)
    if taken := [c for c in y_names + (cats + conts if keep_raw else []) if c in codes]:
        raise TabaeInputError(f"Column(s) {taken} have the names of the code columns ({codes[0]} .. {codes[-1]}) they would sit beside: rename them, e.g. `df.rename(columns={{{taken[0]!r}: 'y'}})`")
    parts = [encode(learn, df, bs=bs), df[y_names]]
    if keep_raw:  # nullable and Arrow columns as fastai's procs take them: categories with NaN for gaps, numbers as float64
        raw, index, clean = df[cats + conts].copy(), _ClassIndex(learn.dls.train_ds), clean_encode_frame(df, learn.dls.train_ds)
        for c in cats:  # a value that matches an encoder class by value as that class (a CSV's '1' as 1), so a frame read with other dtypes gets the same downstream classes
            col = cat_column(raw[c])
            raw[c] = index.classes_of(clean[c], c, col.to_numpy(dtype=object)) if c in index.dtypes else col.to_numpy()
        for c in conts:
            if not (isinstance(raw[c].dtype, np.dtype) and raw[c].dtype.kind in 'iu'): raw[c] = _cont_column(raw[c], c, trained=True).to_numpy()  # floats too: +/-inf as missing, as the encoder reads them
        parts.insert(1, raw)
    return pd.concat(parts, axis=1)

def _target_kind(s:pd.Series) -> str:
    "How fastai reads a target column by its dtype (`select_dtypes(include='number')`, as fastai's `TabularPandas`): numbers to regress, or classes (text, booleans, categoricals: of numbers too)."
    return 'numbers' if len(s.to_frame().select_dtypes(include='number').columns) else 'classes'

class _FillMissing(FillMissing):
    "fastai's `FillMissing`, which also fills the gaps of a column that had none in the training rows (fastai's asserts), with its fill strategy's training value and no flag: validation or new rows of raw columns."
    def setups(self, to):
        self.late = {n: self.fill_strategy(to[n], self.fill_vals[n]) for n in to.cont_names}
        super().setups(to)
    def encodes(self, to):
        if missing := [n for n in self.late if n not in to.items.columns]:  # fastai's said KeyError: 'ae_0'
            raise TabaeInputError(f"Column(s) {_some(missing)} are missing: a model on codes takes the rows of `codes_frame` (`learn.codes_frame(df)` with the encoder's learner and the same `keep_raw`), not the raw rows")
        if late := {n: v for n, v in self.late.items() if n not in self.na_dict and to[n].isna().any()}: to[list(late)] = to[list(late)].fillna(late)
        super().encodes(to)
_FillMissing.__name__ = 'FillMissing'  # the name fastai's `Pipeline` files it under: `to.procs.fill_missing`, as fastai's (pickles use `__qualname__`)

class _Normalize(Normalize):
    "fastai's `Normalize` a column at a time, in float64 (float32 columns such as the codes stored as float32, as batches hold them): fastai's took float64 copies of every column at once, most of `codes_dls`' peak memory (and its statistics of float32 columns in float32)."
    def setups(self, to:Tabular):
        n, self.means, self.stds = getattr(to, 'split', len(to.items)), {}, {}  # fastai puts the training rows first
        for c in to.cont_names:
            v = to.items[c].to_numpy(np.float64, na_value=np.nan)[:n]
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)  # a column of gaps alone: NaN, as pandas gives
                self.means[c], self.stds[c] = float(np.nanmean(v)), float(np.nanstd(v)) + 1e-7  # gaps left out, as pandas leaves them (without `FillMissing`)
        return self(to)
    def encodes(self, to:Tabular):
        for c in to.cont_names:
            col = to.items[c]
            to.items[c] = ((col.to_numpy(np.float64) - self.means[c]) / self.stds[c]).astype(np.float32 if col.dtype == np.float32 else np.float64)  # in float64, as fastai's
        return to
_Normalize.__name__ = 'Normalize'  # filed as fastai's: `to.procs.normalize`

def _own_proc(p):
    "`p`, or tabae's `_FillMissing` and `_Normalize` with their settings where `p` is fastai's `FillMissing` or `Normalize` (the class or an instance)."
    if p is FillMissing: return _FillMissing
    if p is Normalize or type(p) is Normalize: return _Normalize
    return _FillMissing(p.fill_strategy, p.add_col, p.fill_vals) if type(p) is FillMissing else p

@delegates(Tabular.dataloaders, but=['bs'])
def codes_dls(learn:Learner, df:pd.DataFrame, y_names:str|list, keep_raw:bool=False, valid_df:pd.DataFrame|None=None, procs:list|None=None, y_block:TransformBlock|None=None,
              valid_pct:float=0.2, valid_idx:list|None=None, seed:int|None=None, bs:int=256, **kwargs) -> TabularDataLoaders:
    "`TabularDataLoaders` for `tabular_learner` on the codes of `df` (plus its raw columns when `keep_raw`) to predict `y_names` (`y_block`: fastai's choice by dtype unless given), validated on `valid_df` when given, else on `valid_idx` or a `valid_pct` split; `FillMissing` also fills gaps (and infinities) that validation or new rows have where the training rows had none."
    if valid_df is None and valid_idx is None: _check_valid_pct(valid_pct)  # before the encoding, which takes a while
    _check_positive_int('bs', bs)
    y_names = _listify(y_names)
    if dups := [y for y in dict.fromkeys(y_names) if y_names.count(y) > 1]: raise TabaeInputError(f"Target(s) {dups} are given more than once in `y_names`")
    frame = codes_frame(learn, df, y_names, keep_raw)
    if valid_df is not None:
        if valid_idx is not None: raise TabaeInputError("Give the validation rows once: `valid_df` (rows of their own) or `valid_idx` (positions in `df`), not both")
        valid_idx = range(len(frame), len(frame) + len(valid_df))
        check_columns(valid_df, y_names, 'the targets')
        if odd := {y: (str(df[y].dtype), str(valid_df[y].dtype)) for y in y_names if _target_kind(df[y]) != _target_kind(valid_df[y])}:
            y, (a, b) = next(iter(odd.items()))
            raise TabaeInputError(f"Target(s) {list(odd)} would be read as numbers in one frame and as classes in the other ({y!r}: {a} in `df`, {b} in `valid_df`), so none would match: "
                                  f"give both the same dtype, e.g. `valid_df[{y!r}] = valid_df[{y!r}].astype(df[{y!r}].dtype)`")
        frame = pd.concat([frame, codes_frame(learn, valid_df, y_names, keep_raw)])
    if gaps := {y: int(n) for y in y_names if (n := (frame[y].isna() | (np.isinf(frame[y]) if pd.api.types.is_float_dtype(frame[y]) else False)).sum())}:
        raise TabaeInputError(f"Target column(s) have missing or infinite values (rows per column: {gaps}): drop those rows first, e.g. `df.dropna(subset={list(gaps)})`")
    code_cols = _code_cols(learn)
    cats, conts = user_columns(learn.dls.train_ds) if keep_raw else ([], [])
    if valid_idx is None: valid_idx = _random_splits(len(frame), valid_pct, seed)[1]
    splits = _index_splits(valid_idx, len(frame))  # positions, checked as `ae_data` checks them
    procs, x = [_own_proc(p) for p in ifnone(procs, [Categorify, FillMissing, Normalize])], _shrink(frame.reset_index(drop=True))
    if _in_procs(procs, Categorify): x = _train_classes(x, cats, splits[0])  # the raw columns' classes of training rows only, as the encoder's
    to = TabularPandas(x, procs, cats, code_cols + conts, y_names, y_block=y_block, splits=splits, reduce_memory=False)  # fastai's `from_df`, with floats kept (`_shrink`)
    if any(isinstance(p, RegressionSetup) for p in to.procs) and (text := {y: str(frame[y].dtype) for y in y_names if not pd.api.types.is_numeric_dtype(frame[y])}):
        raise TabaeInputError(f"A regression target must hold numbers, got {text}: convert it (e.g. `pd.to_numeric`) or classify it with `y_block=CategoryBlock()`")
    if y_block is None and any(isinstance(p, RegressionSetup) for p in to.procs) and (binary := [y for y in y_names if len(v := frame[y].unique()) == 2 and all(float(o).is_integer() for o in v)]):  # 0/1, also as floats
        warnings.warn(f"Target(s) {binary} hold two whole numbers, and fastai regresses number targets (mean squared error; `accuracy` means nothing on them): "
                      "pass `y_block=CategoryBlock()` to classify, or `y_block=RegressionBlock()` to regress without this warning", stacklevel=_caller_level())
    if any(isinstance(p, Categorize) and not isinstance(p, (MultiCategorize, EncodedMultiCategorize)) for p in to.procs):  # one label per row
        if len(y_names) > 1: raise TabaeInputError(f"`tabular_learner` takes one categorical target (or several continuous ones), got {y_names}: pass one of them")
        for y in y_names:
            ys = frame[y].reset_index(drop=True)
            if unseen := ys.iloc[splits[1]][lambda v: ~v.isin(set(ys.iloc[splits[0]]))].value_counts()[lambda n: n > 0].to_dict():  # a pandas category lists empty classes too
                shown = dict(list(unseen.items())[:10]) | ({'...': f'{len(unseen) - 10} more classes'} if len(unseen) > 10 else {})
                raise TabaeInputError(f"Target {y!r} has {len(unseen)} class(es) in the validation rows that no training row has, so a classifier cannot learn them "
                                      f"(rows per class: {shown}): drop those rows or split differently")
    if 'c' in cats and _in_procs(procs, Categorify):  # fastai's procs answer `dls.c` with the classes of a categorical column named 'c'
        n_out = next((len(p.vocab) for p in to.procs if isinstance(p, Categorize)), len(y_names))
        warnings.warn(f"The raw categorical column 'c' hides fastai's `dls.c` (the number of outputs, here {n_out}), so `tabular_learner(dls)` fails with a TypeError: "
                      f"pass `tabular_learner(dls, n_out={n_out})`", stacklevel=_caller_level())
    dls = to.dataloaders(bs=bs, **kwargs)
    if not len(dls.train):  # fastai drops a training batch that is not full (unless `drop_last=False`)
        raise TabaeInputError(f"The training split has {(n := len(splits[0]))} row(s), fewer than `bs`={bs}, and fastai drops a training batch that is not full, so there would be no batch: "
                              f"pass a smaller `bs` (e.g. `bs={2 ** int(math.log2(max(n // 4, 1)))}`)")
    return dls
