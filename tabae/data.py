"""Data for tabular autoencoders: a `TabularPandas` whose batches are `(cats, conts, cats, conts)`, and `ae_data` to build them from a DataFrame."""
from __future__ import annotations
from fastai.tabular.all import *
from .datasets import read_table
from .errors import TabaeInputError, _warn_unseen
from .process import _ClassIndex, _check_float32, _process_tabular, _unround_conts, tab_tensors
from .procs import RankGauss
from .validate import _InputShift, _check_positive_int, _check_valid_pct, _in_procs, _is_int, _warn_left_out, _listify, _no_categorify, _proc, check_columns, clean_train_frame, infer_columns, user_columns, _warn_extreme

__all__ = ['ReadTabBatchIdentity', 'TabDataLoaderIdentity', 'AEDataLoaders', 'TabularPandasIdentity', 'auto_bs', 'ae_data']

class ReadTabBatchIdentity(ItemTransform):
    "Turn a batch of rows (tensors or a `Tabular`) into `(cats, conts, cats, conts)`; decodes back to a `Tabular`."
    def __init__(self, to:Tabular): self.to = to.new_empty()  # procs and column names only: no rows are kept
    def encodes(self, o):
        "A batch's `(cats, conts)` twice: the inputs and the targets."
        cats, conts = tab_tensors(o) if isinstance(o, Tabular) else o[:2]
        return cats, conts, cats, conts
    def decodes(self, o):
        "The inputs of a batch as a decoded `TabularPandas` (labels and original units)."
        cats, conts = (to_np(t) for t in o[:2])
        df = pd.DataFrame(np.concatenate([cats.astype(np.float64), conts], axis=1), columns=list(self.to.x_names))
        df[list(self.to.cat_names)] = df[list(self.to.cat_names)].astype(np.int64)
        return self.to.new(df)

@delegates()
class TabDataLoaderIdentity(TabDataLoader):
    "A `TabDataLoader` for autoencoders: batches are slices of tensors built once, shuffled by permutation, in this process (`num_workers` is ignored)."
    n_inp = 2
    def __init__(self, dataset, bs:int=1024, shuffle:bool=False, after_batch=None, num_workers:int=0, **kwargs):
        if after_batch is None: after_batch = ReadTabBatchIdentity(dataset)
        with np.errstate(over='ignore'): self.cats, self.conts = tab_tensors(dataset)  # overflow is reported by column: `check_train_data`, `AEDataLoaders.test_dl`
        super().__init__(dataset, bs=bs, shuffle=shuffle, after_batch=after_batch, num_workers=0, **kwargs)

    def _starts(self) -> range:
        "First row of each batch; in training (shuffled, no order given) a trailing 1-row batch is dropped so BatchNorm never sees one; an order given, as `get_preds` gives one, keeps every row."
        n, bs = self.n, self.bs
        stop = n - n % bs if self.drop_last and n >= bs else n
        if self.shuffle and 'get_idxs' not in vars(self) and stop % bs == 1: stop -= 1
        return range(0, stop, bs)

    def __len__(self) -> int: return len(self._starts())

    def _on_device(self) -> tuple[Tensor, Tensor]:
        "The full tensors on `self.device` (moved once and cached), or on the CPU when they would not fit there."
        dev = self.device or torch.device('cpu')
        if self.cats.device != dev:
            nbytes = self.cats.nbytes + self.conts.nbytes
            fits = dev.type != 'cuda' or nbytes < torch.cuda.mem_get_info(dev)[0] // 2
            if fits: self.cats, self.conts = self.cats.to(dev), self.conts.to(dev)
        return self.cats, self.conts

    def create_batch(self, b): return tuple(t[tensor(b, device=t.device)] for t in self._on_device())

    def __iter__(self):
        self.randomize()
        self.before_iter()
        cats, conts = self._on_device()
        g = torch.Generator().manual_seed(self.rng.randint(0, 2**62))
        if 'get_idxs' in vars(self): idx = torch.as_tensor(list(self.get_idxs()), dtype=torch.long, device=cats.device)  # an order given, as `get_preds` gives one to put its predictions back in order
        else: idx = torch.randperm(self.n, generator=g).to(cats.device) if self.shuffle else None
        for i in self._starts():
            sl = idx[i:i+self.bs] if idx is not None else slice(i, i+self.bs)
            b = (cats[sl], conts[sl])
            if self.device is not None: b = to_device(b, self.device)
            yield self.after_batch(b)
        self.after_iter()

    def _rows(self, b:tuple, max_n:int, rebuilt:bool=False) -> pd.DataFrame:
        "The first `max_n` rows of `b`'s `(cats, conts)`: the user's columns in labels and original units, float32's noise rounded off, inputs' missing numbers as NaN."
        cats, conts = user_columns(self.dataset)
        x = _unround_conts(self.decode(tuple(b[:2])).decode().items, self.dataset)
        for c in conts if not rebuilt else []:
            if f'{c}_na' in x: x[c] = x[c].mask(x[f'{c}_na'].astype(bool))
        return x[cats + conts].iloc[:max_n].reset_index(drop=True)

    def decode_batch(self, b:tuple, max_n:int=9) -> pd.DataFrame:
        "The first `max_n` rows of batch `b` in labels and original units (missing numbers as NaN), as `show_batch(show=False)` gives them (fastai's recursed through the `Tabular` it decodes to without end)."
        return self._rows(b, max_n)

    def show_batch(self, b:tuple=None, max_n:int=10, ctxs=None, show:bool=True, **kwargs) -> pd.DataFrame|None:
        "Show the first `max_n` rows of batch `b` (default: `one_batch()`; missing numbers as NaN) in labels and original units (fastai's tabular one shows 10 whatever `max_n`); `show=False` returns them."
        res = self._rows(self.one_batch() if b is None else b, max_n)
        if not show: return res
        display_df(res)

    def show_results(self, b:tuple, out:tuple, max_n:int=9, ctxs=None, show:bool=True, **kwargs) -> pd.DataFrame|None:
        "Show `max_n` rows of batch `b` (missing numbers as NaN), each above its rebuild `out` (the decoded `(cats, conts)`), in labels and original units; `show=False` returns them."
        res = pd.concat({'input': self._rows(b, max_n), 'rebuilt': self._rows(out, max_n, rebuilt=True)}).swaplevel().sort_index(level=0, sort_remaining=False)
        if not show: return res
        display_df(res)

def _shrink(df:pd.DataFrame) -> pd.DataFrame:
    "fastai's `df_shrink` without float32: smaller integer types and text as categories, floats left as they are (float32 merges float categories and IDs past 2**24, and rounds large numbers before `Normalize`)."
    return df_shrink(df, skip=[c for c in df.columns if pd.api.types.is_float_dtype(df[c])])

def _train_classes(df:pd.DataFrame, cat_names:list, train:list|None) -> pd.DataFrame:
    "`df` with each categorical column a pandas categorical over the classes its training rows (`train` positions; `None`: all) have, in its own order: `Categorify` takes a categorical's classes as given, so a class of validation rows only would get an embedding and logits that never train; such values become '#na#' as at `encode` time."
    df = df.copy(deep=False)
    for c in cat_names:
        col = df[c] if isinstance(df[c].dtype, pd.CategoricalDtype) else df[c].astype('category')
        codes = col.cat.codes.to_numpy()
        used = np.isin(np.arange(len(col.cat.categories)), codes if train is None else codes[list(train)])
        df[c] = col.cat.set_categories(col.cat.categories[used])
    return df

def auto_bs(n_train:int, steps:int=16, lo:int=64, hi:int=1024) -> int:
    "The batch size `fit_autoencoder` uses unless told: the largest power of two giving `steps` batches per epoch of `n_train` rows (16: at least 640 optimizer steps in the default 40 epochs, from 1,024 rows up), within `[lo, hi]`."
    return int(min(hi, max(lo, 2 ** math.floor(math.log2(max(n_train // steps, 1))))))

def _random_splits(n:int, valid_pct:float, seed:int|None=None) -> tuple[list, list]:
    "The train and validation positions that fastai's `RandomSplitter(valid_pct, seed)` draws for `n` rows, drawn from a generator of their own when seeded: `RandomSplitter` reseeds torch's global stream, so every model built after it started from the same weights whatever the caller's seed."
    idx = torch.randperm(n, generator=None if seed is None else torch.Generator().manual_seed(seed)).tolist()
    cut = int(valid_pct * n)
    return idx[cut:], idx[:cut]

def _index_splits(valid_idx, n:int) -> tuple[list, list]:
    "Train and validation positions of `n` rows, the validation ones given (order kept, repeats dropped), or a `TabaeInputError`."
    valid = list(dict.fromkeys(_listify(valid_idx)))
    bad = [i for i in valid if not _is_int(i) or not 0 <= i < n]
    if bad: raise TabaeInputError(f"`valid_idx` must hold row positions in [0, {n}) (not index labels), got {bad[:5]}")
    return sorted(set(range(n)) - set(valid)), valid

def _late_gaps(df:pd.DataFrame, cont_names:list, train:list|None) -> pd.DataFrame:
    "Where `df`'s continuous columns have gaps in columns with none in the `train` rows (positions; `None`: all), which `FillMissing` does not fill."
    gaps = df[cont_names].isna()
    return gaps & ~(gaps if train is None else gaps.iloc[list(train)]).any()

_DL_ARGS = {'val_bs', 'shuffle', 'shuffle_train', 'val_shuffle', 'drop_last', 'num_workers', 'verbose'}  # what `ae_data` passes on to fastai's loaders (`TabDataLoaderIdentity` makes its own batches)

@delegates(Tabular.dataloaders, but=['bs', 'device', 'dl_type', 'path', 'n', 'dl_kwargs'])
def ae_data(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, procs:list=None, valid_pct:float=0.2,
            seed:int|None=0, bs:int|None=1024, device:str|torch.device|None=None, rank_gauss:bool=False, valid_idx:list=None, **kwargs) -> AEDataLoaders:
    "Autoencoder `DataLoaders` for `df`: Categorify/FillMissing(/RankGauss)/Normalize unless `procs` given, a random `valid_pct` split seeded by `seed` (or the rows at positions `valid_idx`), `bs` rows per batch (`None`: `auto_bs` of the training split); `kwargs` to fastai's `dataloaders` (`val_bs`, `shuffle`, `drop_last`, ...)."
    if unknown := sorted(set(kwargs) - _DL_ARGS):
        raise TypeError(f"Unknown argument(s) {unknown} for `ae_data`/`AEDataLoaders.from_df`: neither theirs nor one of fastai's data loaders' ({', '.join(sorted(_DL_ARGS))})")
    _warn_left_out(df, cat_names, cont_names)
    cat_names, cont_names = _listify(cat_names), _listify(cont_names)
    check_columns(df, cat_names + cont_names, 'cat_names/cont_names')
    _check_valid_pct(valid_pct)
    if valid_idx is not None: splits, valid_pct = _index_splits(valid_idx, len(df)), 0.
    else: splits = _random_splits(len(df), valid_pct, seed) if valid_pct else (list(range(len(df))), [])
    bs = ifnone(bs, auto_bs(len(splits[0])))
    _check_positive_int('bs', bs)
    df = clean_train_frame(df, cat_names, cont_names, splits, valid_pct)
    if not rank_gauss and not _in_procs(procs, RankGauss): _warn_extreme(df[cont_names].iloc[list(splits[0])])
    gaps = _late_gaps(df, cont_names, splits[0])  # FillMissing refuses them: a placeholder, then 0 after the procs as `encode` fills them
    df[cont_names] = df[cont_names].mask(gaps, 0.)
    procs = ifnone(procs, [Categorify, FillMissing] + ([RankGauss] if rank_gauss else []) + [Normalize])
    if cat_names and not _in_procs(procs, Categorify): _no_categorify(cat_names)  # before pandas fails on text
    with np.errstate(over='ignore'):  # a column too large to normalize is named by `check_train_data`, not by numpy's warning
        to = TabularPandasIdentity(df[cat_names + cont_names], procs, cat_names, cont_names, splits=splits)
        to.items[cont_names] = to.items[cont_names].mask(gaps, 0.).astype(np.float32)  # aligned by row label (`TabularPandas` puts the training rows first); once normalized, float32 as the model reads it, at half the memory
    return to.dataloaders(bs=bs, device=device, **kwargs)

class AEDataLoaders(TabularDataLoaders):
    "`TabularDataLoaders` for autoencoders: `from_df`/`from_csv` build them with `ae_data`; `test_dl` takes any DataFrame that `encode` takes, cleaned and checked as `encode` does before the procs."
    @classmethod
    @delegates(ae_data, but=['cat_names', 'cont_names', 'procs', 'valid_idx'])
    def from_df(cls, df:pd.DataFrame, path:str|Path='.', procs:list=None, cat_names:list=None, cont_names:list=None, y_names=None,
                valid_idx:list=None, **kwargs) -> AEDataLoaders:
        "fastai's constructor with `ae_data`'s defaults (tabae's procs unless `procs`, a seeded 20% split unless `valid_idx`, `bs=1024`); columns as `infer_columns` reads them (a list given is kept, a `None` one becomes the other columns of its kind by dtype); `path` for `learn.export`."
        if y_names is not None: raise TabaeInputError(f"`y_names`: an autoencoder's targets are its inputs, got {y_names!r}; leave the target out of `cat_names`/`cont_names` (and out of `df` when `cont_names` is inferred)")
        cat_names, cont_names = infer_columns(df, cat_names, cont_names)
        dls = ae_data(df, cat_names, cont_names, procs=procs, valid_idx=valid_idx, **kwargs)
        dls.path = Path(path)
        return dls

    @classmethod
    @delegates(from_df.__func__, but=['df'])
    def from_csv(cls, csv:str|Path, skipinitialspace:bool=True, **kwargs) -> AEDataLoaders:
        "`from_df` of the CSV file `csv`, read by `read_table` as the command line reads it (`?` as missing); fastai's `from_csv` is bound to `TabularDataLoaders`, so it is defined again."
        return cls.from_df(read_table(csv, skipinitialspace=skipinitialspace), **kwargs)

    @delegates(TabDataLoaderIdentity.__init__)
    def test_dl(self, test_items:pd.DataFrame, rm_type_tfms=None, process:bool=True, inplace:bool=False, **kwargs) -> TabDataLoaderIdentity:
        "A `TabDataLoaderIdentity` of `test_items`' rows in order, as `encode` processes them: unseen categories as '#na#' (one warning), missing and infinite numbers filled, extra columns ignored, bad columns named in a `TabaeInputError`, columns unlike their training values named (`InputShiftWarning`), `test_items` never modified (`inplace` and `rm_type_tfms` apply only with `process=False`: fastai's, for an already processed frame)."
        if not process: return super().test_dl(test_items, rm_type_tfms=rm_type_tfms, process=False, inplace=inplace, **kwargs)
        index = _ClassIndex(self.train_ds)
        to, unseen = _process_tabular(self.train_ds, test_items, index)
        _warn_unseen(unseen, index.examples)
        dl = self.valid.new(to, **kwargs)
        _check_float32(dl.conts, test_items, to.cont_names)
        shift = _InputShift.of_dls(self)  # against the training rows' range: `DataLoaders` hold no model
        shift.update(test_items, dl.conts.cpu(), index)
        shift.warn()
        return dl

def _check_fill_missing(df:pd.DataFrame, cont_names:list, splits:tuple|None):
    "Name the continuous columns whose gaps fastai's `FillMissing` would fail on: gaps in validation rows only, or gaps under a name that is not text."
    if late := [c for c, has in _late_gaps(df, cont_names, None if splits is None else splits[0]).any().items() if has]:
        raise TabaeInputError(f"Continuous column(s) {late} have missing values in validation rows only, and `FillMissing` fills the columns with gaps in training rows: "
                              "fill them first, or build the data with `AEDataLoaders.from_df`/`ae_data`, which fill them as `encode` does")
    if unnamed := [c for c in cont_names if not isinstance(c, str) and df[c].isna().any()]:  # gaps in training rows, as the check above passed
        raise TabaeInputError(f"Continuous column(s) {unnamed} have missing values, and `FillMissing` names its flag column `<name>_na`, which needs a text name: "
                              "rename the columns, e.g. `df.columns = [str(c) for c in df.columns]`")

class TabularPandasIdentity(TabularPandas):
    "A `TabularPandas` whose `DataLoaders` yield `(cats, conts, cats, conts)` batches with `n_inp=2`."
    _dl_type, _dbunch_type = TabDataLoaderIdentity, AEDataLoaders
    n_inp = 2
    def __init__(self, df:pd.DataFrame, procs:list=None, cat_names:list=None, cont_names:list=None, y_names=None, y_block=None, splits:tuple=None,
                 do_setup:bool=True, device=None, inplace:bool=False, reduce_memory:bool=True):
        "fastai's constructor (the column lists are copied, not extended with `FillMissing`'s `<col>_na`; `Categorify` learns the classes of training rows only, `_train_classes`, and notes each ordered categorical's categories, `ordered`); `reduce_memory` shrinks integer columns and makes text categorical, but leaves floats as they are (`_shrink`)."
        cat_names, cont_names = list(L(cat_names)), list(L(cont_names))
        if do_setup and _in_procs(procs, FillMissing): _check_fill_missing(df, cont_names, splits)
        if reduce_memory: df = _shrink(df)
        ordered = {c: list(d.categories) for c in cat_names if do_setup and isinstance(d := df[c].dtype, pd.CategoricalDtype) and d.ordered}  # all the categories, in order: rebuilt rows take that dtype
        if do_setup and _in_procs(procs, Categorify): df = _train_classes(df, cat_names, None if splits is None else splits[0])
        super().__init__(df, procs, cat_names, cont_names, y_names, y_block, splits, do_setup, device, inplace, reduce_memory=False)
        if do_setup and (cat := _proc(self, Categorify)) is not None: cat.ordered = ordered
    def setup(self):
        "fastai's, with `FillMissing`'s flag columns made first for the columns with gaps in the training rows (`_add_na_columns`), and dropped again where it made none."
        if not getattr(_proc(self, FillMissing), 'add_col', False): return super().setup()
        gaps = self.items.iloc[:self.split][list(self.cont_names)].isna().any()
        added = self._add_na_columns(gaps[gaps].index)
        super().setup()
        if stray := [c for c in added if c not in self.cat_names]: self.items = self.items.drop(columns=stray)  # an earlier proc filled the gaps
    def process(self):
        "fastai's, with `FillMissing`'s flag columns made first (`_add_na_columns`)."
        if getattr(fm := _proc(self, FillMissing), 'add_col', False): self._add_na_columns(getattr(fm, 'na_dict', {}))
        super().process()
    def _add_na_columns(self, names) -> list:
        "Add `FillMissing`'s `<col>_na` columns for `names` in one go, for it to fill (it inserts them one at a time, and pandas printed dozens of warnings of a fragmented frame on wide tables); `items` becomes a new frame. The names added."
        if new := [f'{n}_na' for n in names if f'{n}_na' not in self.items]:
            self.items = pd.concat([self.items, pd.DataFrame(False, index=self.items.index, columns=new)], axis=1)
        return new
    @delegates(TabDataLoaderIdentity.__init__)
    def dataloaders(self, bs:int=1024, drop_last:bool=False, **kwargs) -> AEDataLoaders:
        "`DataLoaders` for the train/valid splits; batch size 1024 and no dropped rows by default."
        return super().dataloaders(bs=bs, drop_last=drop_last, **kwargs)
