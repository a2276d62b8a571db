"""Rows in, codes out: `encode` and `reconstruct` on any DataFrame, processed exactly as the training data."""
from __future__ import annotations
import warnings
from collections import Counter
from fastai.tabular.all import *
from fastprogress.fastprogress import progress_bar
from .inference import FoldedEncoder
from .loss import RecreatedLoss
from .precision import amp_dtype

__all__ = ['TabaeInputError', 'UnseenCategoryWarning', 'user_columns', 'check_columns', 'process_frame', 'model_outputs', 'encode', 'decode_outputs', 'reconstruct']

class TabaeInputError(ValueError):
    "A DataFrame or argument that tabae cannot use, with what was expected."

class UnseenCategoryWarning(UserWarning):
    "Categorical values that training never saw, encoded as '#na#'; `counts` maps each column to its number of such rows."
    def __init__(self, msg:str, counts:dict):
        super().__init__(msg)
        self.counts = counts
    def __reduce__(self): return type(self), (str(self), self.counts)  # picklable, e.g. raised as an error in a worker process

def _proc(to:Tabular, cls):
    return first(p for p in to.procs.fs if isinstance(p, cls))

def user_columns(to:Tabular) -> tuple[list, list]:
    "The cat and cont column names a user gave (without the `<col>_na` columns that `FillMissing` adds)."
    fm = _proc(to, FillMissing)
    added = {f'{n}_na' for n in getattr(fm, 'na_dict', {})} if fm is not None and fm.add_col else set()
    return [c for c in to.cat_names if c not in added], list(to.cont_names)

def check_columns(df:pd.DataFrame, names:list, what:str='the training data'):
    "Raise `TabaeInputError` naming every column of `names` that `df` lacks."
    if not isinstance(df, pd.DataFrame): raise TabaeInputError(f"Expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in names if c not in df.columns]
    if missing: raise TabaeInputError(f"Column(s) {missing} of {what} are missing from the DataFrame (it has {list(df.columns)[:20]})")

def _centre(to:Tabular) -> dict:
    "Per continuous column, the value in original units that the procs map to 0: the training mean after `Normalize` (also behind `RankGauss`)."
    row = pd.DataFrame({c: [0 if c in to.cat_names else 0.] for c in to.x_names})
    return to.new(row).decode().items.iloc[0][list(to.cont_names)].to_dict()

def _clean_conts(df:pd.DataFrame, to:Tabular) -> pd.DataFrame:
    "Continuous columns as float, +/-inf as NaN, and NaN filled with `_centre` (what the procs map to 0) where training had none."
    from .validate import _cont_column
    fm = _proc(to, FillMissing)
    na_dict = getattr(fm, 'na_dict', {}) if fm is not None else {}
    for c in to.cont_names: df[c] = _cont_column(df[c], c).to_numpy()  # the training-time checks and conversion
    gaps = [c for c in to.cont_names if c not in na_dict and df[c].isna().any()]
    if gaps: df[gaps] = df[gaps].fillna(_centre(to))
    return df

class _ClassIndex:
    "Each categorical column's training classes as a pandas `CategoricalDtype` (and an Arrow value set for Arrow strings), built once and reused for every chunk of a frame."
    def __init__(self, to:Tabular):
        cat = _proc(to, Categorify)
        # what `Categorify` matches, '#na#' left out: missing and unseen map to it
        self.dtypes = {} if cat is None else {c: pd.CategoricalDtype(cat.classes[c].items[1:]) for c in user_columns(to)[0]}
        self.value_sets = {}

    def codes(self, col:pd.Series, c:str) -> np.ndarray:
        "The position of each value of `col` among column `c`'s classes, -1 where it is missing or absent: Arrow's `index_in` for Arrow strings (no Python objects), else pandas' `get_indexer`."
        categories = self.dtypes[c].categories
        if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == 'pyarrow' and categories.inferred_type == 'string':
            import pyarrow as pa, pyarrow.compute as pc
            arr = pa.array(col.array)
            if (c, arr.type) not in self.value_sets: self.value_sets[c, arr.type] = pa.array(categories.tolist(), type=arr.type)
            return pc.fill_null(pc.index_in(arr, value_set=self.value_sets[c, arr.type]), -1).to_numpy()
        return categories.get_indexer(col)

    def __call__(self, df:pd.DataFrame) -> dict:
        "Match `df`'s categorical columns to the training classes once, in place, as pandas categoricals (`Categorify` then reads their codes); `{column: count}` of the non-missing values training never saw."
        unseen = {}
        for c, dtype in self.dtypes.items():
            codes = self.codes(df[c], c)
            if (n := int(((codes < 0) & df[c].notna().to_numpy()).sum())): unseen[c] = n
            df[c] = pd.Categorical.from_codes(codes, dtype=dtype)
        return unseen

def _warn_unseen(counts:dict, stacklevel:int=3):
    "One warning naming each column with unseen categories and counting its rows."
    if not counts: return
    msg = ', '.join(f"column {c!r} in {n} row(s)" for c, n in counts.items())
    warnings.warn(UnseenCategoryWarning(f"Categories never seen in training are encoded as '#na#': {msg}", counts), stacklevel=stacklevel)

def _process_tabular(tmpl:Tabular, df:pd.DataFrame, index:_ClassIndex=None) -> tuple[Tabular, dict]:
    "`df` cleaned as the training frame was, its categories matched to the training classes (`index`, if already built) and run through `tmpl`'s procs; with the count of unseen categories per column."
    from .validate import clean_encode_frame
    sub = _clean_conts(clean_encode_frame(df, tmpl), tmpl)
    unseen = (_ClassIndex(tmpl) if index is None else index)(sub)
    to = tmpl.new(sub, inplace=True)
    to.process()
    return to, unseen

def _check_float32(conts:Tensor, df:pd.DataFrame, cont_names:list):
    "Raise `TabaeInputError` naming the columns (and first rows of `df`) whose processed values in `conts` overflowed float32."
    if (ok := torch.isfinite(conts)).all(): return
    bad = {c: df.index[~ok[:, i].cpu().numpy()][:5].tolist() for i, c in enumerate(cont_names) if not ok[:, i].all()}
    raise TabaeInputError(f"Continuous column(s) {list(bad)} hold values past float32's range (~3.4e38) once normalized; "
                          f"first rows by index: {bad}. Clip or rescale them")

def _process(learn:Learner, df:pd.DataFrame, index:_ClassIndex=None) -> tuple[Tensor, Tensor, dict]:
    "`process_frame`'s tensors and the count of unseen categories per column (`index`: the training classes, if already built)."
    from .data import tab_tensors
    to, unseen = _process_tabular(learn.dls.train_ds, df, index)
    with np.errstate(over='ignore'): cats, conts = tab_tensors(to)  # finite in float64, yet past float32's range once normalized: reported by column
    _check_float32(conts, df, to.cont_names)
    return cats, conts, unseen

def process_frame(learn:Learner, df:pd.DataFrame, warn:bool=True) -> tuple[Tensor, Tensor]:
    "The `(cats, conts)` tensors of `df` after the training data's procs (Categorify, FillMissing, Normalize, ...)."
    cats, conts, unseen = _process(learn, df)
    if warn: _warn_unseen(unseen)
    return cats, conts

def _chunks(n:int, size:int): return [slice(i, min(i + size, n)) for i in range(0, n, size)]

def _encoder(model, deep_stack:bool=False, mixed_precision:bool=True) -> Module:
    "The fastest eval-mode encoder of `model`: `FoldedEncoder` (bf16 where `amp_dtype` allows it and `mixed_precision`) where its layout allows, else the model's own."
    dtype = amp_dtype(next(model.parameters()).device) if mixed_precision else None
    try: return partial(FoldedEncoder(model, dtype=dtype if dtype == torch.bfloat16 else torch.float32), stack=deep_stack)
    except (ValueError, AttributeError, IndexError, TypeError):
        if deep_stack: raise TabaeInputError("`deep_stack` needs an encoder of `LinBnDrop` blocks (the `TabularAE` layout)")
        return partial(model, encode=True)

def model_outputs(learn:Learner, df:pd.DataFrame, bs:int=4096, encode:bool=True, chunk:int=65536, progress:bool=None,
                  deep_stack:bool=False, mixed_precision:bool=True):
    "Yield `(rows, output)` for `df` in chunks: the code (`encode`, all hidden activations too with `deep_stack`) or the decoded `(cats, conts)`, in eval mode."
    if not isinstance(bs, int) or bs < 1: raise TabaeInputError(f"`bs` must be a positive int, got {bs!r}")
    model, dev = learn.model, next(learn.model.parameters()).device
    cat_names, cont_names = user_columns(learn.dls.train_ds)
    check_columns(df, cat_names + cont_names)
    chunks = _chunks(len(df), max(chunk, bs))
    progress = ifnone(progress, len(chunks) > 2)
    was_training = model.training
    model.eval()
    net = _encoder(model, deep_stack, mixed_precision) if encode else model
    unseen, index = Counter(), _ClassIndex(learn.dls.train_ds)
    try:
        for sl in progress_bar(chunks, leave=False) if progress else chunks:
            cats, conts, counts = _process(learn, df.iloc[sl], index)
            unseen.update(counts)
            outs = []
            with torch.inference_mode():
                for b in _chunks(len(cats), bs):
                    out = net(cats[b].to(dev), conts[b].to(dev))
                    outs.append(out.float().cpu() if encode else tuple(o.float().cpu() for o in out))
            yield sl, torch.cat(outs) if encode else tuple(torch.cat(o) for o in zip(*outs))
    finally: model.train(was_training)
    _warn_unseen(dict(unseen), stacklevel=4)  # once for the whole frame, not per chunk

def encode(learn:Learner, df:pd.DataFrame, bs:int=4096, prefix:str='ae_', progress:bool=None, deep_stack:bool=False,
           mixed_precision:bool=True) -> pd.DataFrame:
    "The code of every row of `df` (with `deep_stack`, every hidden activation too), as a DataFrame with `df`'s index and columns `ae_0..`; bf16 matmuls where the hardware has them unless `mixed_precision=False`."
    check_columns(df, [])
    m = learn.model
    width = sum(l.out_features for l in m.layers.modules() if isinstance(l, nn.Linear)) if deep_stack else m.code_size
    res = np.empty((len(df), width), dtype=np.float32)
    for sl, code in model_outputs(learn, df, bs=bs, encode=True, progress=progress, deep_stack=deep_stack, mixed_precision=mixed_precision):
        res[sl] = code.numpy()
    return pd.DataFrame(res, index=df.index, columns=[f'{prefix}{i}' for i in range(width)], copy=False)

def decode_outputs(learn:Learner, out:tuple) -> pd.DataFrame:
    "The rows that the model's `(cat_logits, conts)` output stands for: the user's cat and cont columns, in labels and original units."
    tmpl = learn.dls.train_ds
    pc, pf = RecreatedLoss([len(tmpl.classes[c]) for c in tmpl.cat_names]).decodes(out)
    frame = pd.DataFrame(pf.float().cpu().numpy().astype(np.float64), columns=list(tmpl.cont_names))
    for i, c in enumerate(tmpl.cat_names): frame[c] = pc[:, i].cpu().numpy()
    cats, conts = user_columns(tmpl)
    return tmpl.new(frame[list(tmpl.x_names)]).decode().items[cats + conts]

def reconstruct(learn:Learner, df:pd.DataFrame, bs:int=4096, progress:bool=None) -> pd.DataFrame:
    "The autoencoder's rebuild of `df`'s cat and cont columns: labels and original units, same index."
    parts = []
    for _, out in model_outputs(learn, df, bs=bs, encode=False, progress=progress): parts.append(decode_outputs(learn, out))  # a loop: the unseen-category warning's stacklevel counts frames
    res = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=sum(user_columns(learn.dls.train_ds), []))
    res.index = df.index
    return res
