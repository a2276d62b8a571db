"""A new frame processed as the training frame was: cleaned, its categories matched to the training classes, run through the procs, as tensors."""
from __future__ import annotations
from fastai.tabular.all import *
from .errors import TabaeInputError, _shortened, _warn_unseen
from .procs import RankGauss
from .validate import _cont_columns, _is_text, _kinds_of, _proc, clean_encode_frame, user_columns

__all__ = ['tab_tensors', 'process_frame']

def tab_tensors(to:Tabular) -> tuple[Tensor, Tensor]:
    "The processed `cats` (int64) and `conts` (float32) of `to` as CPU tensors, built in one go."
    def arr(names, dtype): return torch.from_numpy(to.items[list(names)].to_numpy(dtype).reshape(len(to.items), len(names)).copy())
    return arr(to.cat_names, np.int64), arr(to.cont_names, np.float32)

def _unround(x:pd.Series, mean:float) -> pd.Series:
    "`x` decoded from float32 normalized values, with the float32 noise rounded off (each value to the power of ten above `|x - mean|` times float32's epsilon): 86399.002 -> 86399, -0.000049 -> 0."
    v = x.to_numpy(np.float64)
    e = np.ceil(np.log10(np.maximum.reduce([np.abs(v - mean) * 2 ** -23, np.abs(v) * 2 ** -52, np.full(len(v), 1e-300)])))  # round to 10**e, within float64's reach
    p = 10. ** np.abs(e)
    return pd.Series(np.where(e < 0, np.round(v * p) / p, np.round(v / p) * p) + 0., index=x.index)  # powers of ten >= 1 are exact: no 38.000000000000004; + 0.: no -0.0

def _unround_conts(df:pd.DataFrame, to:Tabular) -> pd.DataFrame:
    "`df`, decoded through `to`'s procs, with `_unround` applied to each continuous column (under `Normalize`; `RankGauss` decodes by interpolation, left as it is)."
    norm = _proc(to, Normalize) if _proc(to, RankGauss) is None else None
    for c in to.cont_names if norm is not None else []: df[c] = _unround(df[c], float(norm.means[c]))
    return df

def _classes_per_column(to:Tabular) -> dict:
    "`{name: number of classes}` of `to`'s categorical columns, '#na#' included."
    return {n: len(to.classes[n]) for n in to.cat_names}

def _decoded(to:Tabular, frame:pd.DataFrame) -> pd.DataFrame:
    "`frame` of processed values decoded through `to`'s procs to labels and original units, float32's noise rounded off (`_unround_conts`)."
    return _unround_conts(to.new(frame).decode().items, to)

def _centre(to:Tabular) -> dict:
    "Per continuous column, the value in original units that the procs map to 0: the training mean after `Normalize` (also behind `RankGauss`)."
    row = pd.DataFrame({c: [0 if c in to.cat_names else 0.] for c in to.x_names})
    return to.new(row).decode().items.iloc[0][list(to.cont_names)].to_dict()

def _clean_conts(df:pd.DataFrame, to:Tabular) -> pd.DataFrame:
    "Continuous columns as float, +/-inf as NaN, and NaN filled with `_centre` (what the procs map to 0) where training had none."
    fm = _proc(to, FillMissing)
    na_dict = getattr(fm, 'na_dict', {}) if fm is not None else {}
    for c, col in _cont_columns(df, to.cont_names, trained=True).items(): df[c] = col.to_numpy()  # the training-time checks and conversion
    gaps = [c for c in to.cont_names if c not in na_dict and df[c].isna().any()]
    if gaps: df[gaps] = df[gaps].fillna(_centre(to))
    return df

def _int_codes(categories:pd.Index, v:np.ndarray) -> np.ndarray:
    "The position of each float of `v` among the integer `categories`, -1 where none equals it exactly (pandas compares them as floats, which past 2**53 matched 2**60 + 1 to 2**60 + 5)."
    res = np.full(len(v), -1, dtype=np.intp)
    whole = np.isfinite(v) & (np.floor(v) == v)
    small = whole & (np.abs(v) < 2.**63)
    res[small] = categories.get_indexer(v[small].astype(np.int64))
    if (big := whole & ~small).any(): res[big] = categories.get_indexer(pd.Index([int(x) for x in v[big]], dtype=object))  # uint64 classes
    return res

_READS = {'integer': int, 'floating': float, 'mixed-integer-float': float, 'boolean': lambda s: {'true': True, 'false': False}[s.lower()]}

def _as_class(s:str, kind:str):
    "The text `s` as the number or boolean a CSV reader makes of it for classes of pandas' `kind` ('1.0' is integer class 1), or None."
    try: return _READS[kind](s.strip())
    except (ValueError, KeyError): pass
    if kind != 'integer': return None
    try: v = float(s)
    except ValueError: return None
    return int(v) if v.is_integer() else None

def _text_codes(categories:pd.Index, col:pd.Series) -> np.ndarray:
    "The position of each text value of `col` among numeric or boolean `categories`, each distinct value read once as a CSV reader reads it ('5', '05', '5.0' are class 5, as 5 is class '5'); -1 where missing or none."
    vals = pd.unique(col.dropna().to_numpy(dtype=object))
    pos = categories.get_indexer(pd.Index([_as_class(str(v), categories.inferred_type) for v in vals], dtype=object))
    return col.map(dict(zip(vals, pos))).fillna(-1).to_numpy(np.intp)

def _ordered(cat) -> dict:
    "`{column: categories}` of the ordered categoricals `cat` (a `Categorify`) noted: none for learners saved before it noted them, the training classes where it noted names alone (a list: an earlier form)."
    o = getattr(cat, 'ordered', {})
    return o if isinstance(o, dict) else {c: list(cat.classes[c].items[1:]) for c in o}

class _ClassIndex:
    "Each categorical column's training classes as a pandas `CategoricalDtype` (and an Arrow value set for Arrow strings), built once and reused for every chunk of a frame."
    def __init__(self, to:Tabular):
        cat = _proc(to, Categorify)
        # what `Categorify` matches, '#na#' left out: missing and unseen map to it
        self.dtypes = {} if cat is None else {c: pd.CategoricalDtype(cat.classes[c].items[1:]) for c in user_columns(to)[0]}
        self.ordered = {c: pd.CategoricalDtype(v, ordered=True) for c, v in _ordered(cat).items() if c in self.dtypes}  # the user's ordered categoricals
        self.value_sets, self.examples, self.kinds = {}, {}, {}  # `examples`: a few unseen values per column, from the first rows that had any; `kinds`: the last frame's, by kind (`_kinds_of`)

    def codes(self, col:pd.Series, c:str) -> np.ndarray:
        "The position of each value of `col` among column `c`'s classes, -1 where it is missing or absent: Arrow's `index_in` for Arrow strings (no Python objects), else pandas' `get_indexer`."
        categories = self.dtypes[c].categories
        if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == 'pyarrow' and categories.inferred_type == 'string':
            import pyarrow as pa, pyarrow.compute as pc
            arr = pa.array(col.array)
            if (c, arr.type) not in self.value_sets: self.value_sets[c, arr.type] = pa.array(categories.tolist(), type=arr.type)
            return pc.fill_null(pc.index_in(arr, value_set=self.value_sets[c, arr.type]), -1).to_numpy()
        if categories.dtype.kind in 'iu' and isinstance(col.dtype, np.dtype) and col.dtype.kind == 'f': return _int_codes(categories, col.to_numpy())
        if categories.inferred_type in _READS and _is_text(col): return _text_codes(categories, col)  # a CSV column of numbers with one word in it reads as text
        return categories.get_indexer(col)

    def classes_of(self, col:pd.Series, c:str, other:np.ndarray, codes:np.ndarray|None=None) -> np.ndarray:
        "The values of `col` (cleaned as `clean_encode_frame` cleans it) as column `c`'s training classes where one matches by value (as `codes` matches them: 1.0 and '1' for 1), `other`'s where none does (`codes`: `self.codes(col, c)`, if already known)."
        codes = self.codes(col, c) if codes is None else codes
        classes = np.append(self.dtypes[c].categories.to_numpy(dtype=object), None)  # code -1 (missing, unmatched) picks the None, which `other` replaces
        return np.where(codes >= 0, classes[codes], other)

    def __call__(self, df:pd.DataFrame) -> dict:
        "Match `df`'s categorical columns to the training classes once, in place, as pandas categoricals (`Categorify` then reads their codes); `{column: count}` of the non-missing values training never saw (`kinds`: how many of them are numbers and text, with a few of each)."
        unseen, self.kinds = {}, {}
        for c, dtype in self.dtypes.items():
            codes = self.codes(df[c], c)
            new = (codes < 0) & df[c].notna().to_numpy()
            if n := int(new.sum()):
                unseen[c], self.kinds[c] = n, _kinds_of(df[c][new])
                if c not in self.examples: self.examples[c] = _shortened(pd.unique(df[c][new].iloc[:1000])[:3].tolist())
            df[c] = pd.Categorical.from_codes(codes, dtype=dtype)
        return unseen

def _process_tabular(tmpl:Tabular, df:pd.DataFrame, index:_ClassIndex) -> tuple[Tabular, dict]:
    "`df` cleaned as the training frame was, its categories matched to the training classes (`index`, `tmpl`'s) and run through `tmpl`'s procs; with the count of unseen categories per column."
    sub = _clean_conts(clean_encode_frame(df, tmpl), tmpl)
    unseen = index(sub)
    to = tmpl.new(sub, inplace=True)
    to.process()
    return to, unseen

def _check_float32(conts:Tensor, df:pd.DataFrame, cont_names:list):
    "Raise `TabaeInputError` naming the columns (and first rows of `df`) whose processed values in `conts` overflowed float32."
    if (ok := torch.isfinite(conts)).all(): return
    bad = {c: df.index[~ok[:, i].cpu().numpy()][:5].tolist() for i, c in enumerate(cont_names) if not ok[:, i].all()}
    raise TabaeInputError(f"Continuous column(s) {list(bad)} hold values past float32's range (~3.4e38) once normalized; "
                          f"first rows by index: {bad}. Clip or rescale them")

def _process(learn:Learner, df:pd.DataFrame, index:_ClassIndex) -> tuple[Tensor, Tensor, dict]:
    "`process_frame`'s tensors and the count of unseen categories per column (`index`: the training classes, built once per frame)."
    to, unseen = _process_tabular(learn.dls.train_ds, df, index)
    with np.errstate(over='ignore'): cats, conts = tab_tensors(to)  # finite in float64, yet past float32's range once normalized: reported by column
    _check_float32(conts, df, to.cont_names)
    return cats, conts, unseen

def process_frame(learn:Learner, df:pd.DataFrame, warn:bool=True) -> tuple[Tensor, Tensor]:
    "The `(cats, conts)` tensors of `df` after the training data's procs (Categorify, FillMissing, Normalize, ...)."
    index = _ClassIndex(learn.dls.train_ds)
    cats, conts, unseen = _process(learn, df, index)
    if warn: _warn_unseen(unseen, index.examples)
    return cats, conts
