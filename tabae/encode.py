"""Rows in, codes out: `encode` and `reconstruct` on any DataFrame, processed exactly as the training data."""
from __future__ import annotations
import warnings
from fastai.tabular.all import *
from fastprogress.fastprogress import progress_bar
from .loss import RecreatedLoss

__all__ = ['TabaeInputError', 'user_columns', 'check_columns', 'process_frame', 'model_outputs', 'encode', 'reconstruct']

class TabaeInputError(ValueError):
    "A DataFrame or argument that tabae cannot use, with what was expected."

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

def _clean_conts(df:pd.DataFrame, to:Tabular) -> pd.DataFrame:
    "Continuous columns as float, +/-inf as NaN, and NaN filled with the training mean where training had none."
    fm, norm = _proc(to, FillMissing), _proc(to, Normalize)
    na_dict = getattr(fm, 'na_dict', {}) if fm is not None else {}
    for c in to.cont_names:
        col = df[c]
        if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
            raise TabaeInputError(f"Continuous column {c!r} must be numeric, got dtype {col.dtype}")
        col = col.astype(np.float64).replace([np.inf, -np.inf], np.nan)
        if c not in na_dict and col.isna().any(): col = col.fillna(norm.means[c] if norm is not None else 0.)
        df[c] = col
    return df

def _warn_unseen(df:pd.DataFrame, to:Tabular, cats:list):
    cat = _proc(to, Categorify)
    for c in cats:
        seen = pd.Index(cat.classes[c].items[1:])
        n = int((~df[c].isin(seen) & df[c].notna()).sum())
        if n: warnings.warn(f"Column {c!r}: {n} row(s) hold categories never seen in training; they are encoded as '#na#'", stacklevel=3)

def process_frame(learn:Learner, df:pd.DataFrame, warn:bool=True) -> tuple[Tensor, Tensor]:
    "The `(cats, conts)` tensors of `df` after the training data's procs (Categorify, FillMissing, Normalize, ...)."
    from .data import tab_tensors
    tmpl = learn.dls.train_ds
    cats, conts = user_columns(tmpl)
    check_columns(df, cats + conts)
    sub = _clean_conts(df[cats + conts].copy(), tmpl)
    if warn: _warn_unseen(sub, tmpl, cats)
    to = tmpl.new(sub, inplace=True)
    to.process()
    return tab_tensors(to)

def _chunks(n:int, size:int): return [slice(i, min(i + size, n)) for i in range(0, n, size)]

def model_outputs(learn:Learner, df:pd.DataFrame, bs:int=4096, encode:bool=True, chunk:int=65536, progress:bool=None):
    "Yield `(rows, output)` for `df` in chunks: the code (`encode`) or the decoded `(cats, conts)`, in eval mode."
    if not isinstance(bs, int) or bs < 1: raise TabaeInputError(f"`bs` must be a positive int, got {bs!r}")
    model, dev = learn.model, next(learn.model.parameters()).device
    chunks = _chunks(len(df), max(chunk, bs))
    progress = ifnone(progress, len(chunks) > 2)
    was_training = model.training
    model.eval()
    try:
        for i, sl in enumerate(progress_bar(chunks, leave=False) if progress else chunks):
            cats, conts = process_frame(learn, df.iloc[sl], warn=True)
            outs = []
            with torch.inference_mode():
                for b in _chunks(len(cats), bs):
                    out = model(cats[b].to(dev), conts[b].to(dev), encode=encode)
                    outs.append(out.float().cpu() if encode else tuple(o.float().cpu() for o in out))
            yield sl, torch.cat(outs) if encode else tuple(torch.cat(o) for o in zip(*outs))
    finally: model.train(was_training)

def encode(learn:Learner, df:pd.DataFrame, bs:int=4096, prefix:str='ae_', progress:bool=None) -> pd.DataFrame:
    "The code of every row of `df`, as a DataFrame with `df`'s index and columns `ae_0..`."
    code_size = learn.model.code_size
    res = np.empty((len(df), code_size), dtype=np.float32)
    for sl, code in model_outputs(learn, df, bs=bs, encode=True, progress=progress): res[sl] = code.numpy()
    return pd.DataFrame(res, index=df.index, columns=[f'{prefix}{i}' for i in range(code_size)])

def reconstruct(learn:Learner, df:pd.DataFrame, bs:int=4096, progress:bool=None) -> pd.DataFrame:
    "The autoencoder's rebuild of `df`'s cat and cont columns: labels and original units, same index."
    tmpl = learn.dls.train_ds
    cats, conts = user_columns(tmpl)
    dec = RecreatedLoss([len(tmpl.classes[c]) for c in tmpl.cat_names]).decodes
    parts = []
    for sl, out in model_outputs(learn, df, bs=bs, encode=False, progress=progress):
        pc, pf = dec(out)
        frame = pd.DataFrame(pf.numpy().astype(np.float64), columns=list(tmpl.cont_names))
        for i, c in enumerate(tmpl.cat_names): frame[c] = pc[:, i].numpy()
        parts.append(tmpl.new(frame[list(tmpl.x_names)]).decode().items)
    res = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cats + conts)
    res.index = df.index
    return res[cats + conts]
