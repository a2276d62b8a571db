"""Input checks and frame normalisation: every bad table or argument stops early with a `TabaeInputError` that says what to fix."""
from __future__ import annotations
import contextlib, contextvars, numbers, warnings
from fastai.tabular.all import *
from pandas.api.types import infer_dtype
from .errors import _DETAILED, ExtremeValueWarning, InputShiftWarning, ManyClassesWarning, NumbersAsTextWarning, TabaeInputError, UninformativeColumnWarning, _caller_level, _shortened, _some
from .activations import CODE_ACTS
from .procs import RankGauss

_NA = '#na#'  # fastai's `Categorify` class for missing and unseen values

__all__ = ['user_columns', 'check_columns', 'infer_columns', 'check_frame', 'check_hparams', 'cat_column', 'clean_train_frame', 'clean_encode_frame', 'check_train_data']

def _is_int(o) -> bool: return isinstance(o, numbers.Integral) and not isinstance(o, bool)  # numpy ints too (a grid search's), not bools

def _is_p(o, high:float=1., closed:bool=False) -> bool:
    "`o` is a number (numpy's too, not a bool) in [0, `high`), or [0, `high`] if `closed`."
    return isinstance(o, numbers.Real) and not isinstance(o, bool) and 0 <= o and (o <= high if closed else o < high)

def _is_positive(o) -> bool:
    "`o` is a finite number > 0 (numpy's too, not a bool)."
    return _is_p(o, high=math.inf) and o > 0

def _check_p(name:str, p):
    "Raise `TabaeInputError` unless `p` (a rate or a list of rates) holds probabilities in [0, 1)."
    if not all(_is_p(v) for v in L(p)): raise TabaeInputError(f"`{name}` must be a probability in [0, 1), got {p!r}")

def _as_list(o):
    "`o` (`layers`, `ps`, `swap_p`) as a list if it is a sequence, range, numpy array or generator (so checking it consumes nothing), a 0-d array as its number, else unchanged for the checks to name."
    if isinstance(o, np.ndarray): return o.tolist()
    return list(o) if is_listy(o) or isinstance(o, range) else o

def _check_arch(code_size, layers, decoder, code_act):
    "Raise `TabaeInputError` naming the first of `code_size`, `layers`, `decoder`, `code_act` that `TabularAE` cannot build."
    if not _is_int(code_size) or code_size < 1: raise TabaeInputError(f"`code_size` must be a positive int, got {code_size!r}")
    if not is_listy(layers) or not layers or not all(_is_int(l) and l > 0 for l in layers):
        raise TabaeInputError(f"`layers` must be a non-empty list of positive ints, got {layers!r}")
    if decoder not in ('mirror', 'linear'): raise TabaeInputError(f"`decoder` must be 'mirror' or 'linear', got {decoder!r}")
    if code_act is not None and (not isinstance(code_act, str) or code_act not in CODE_ACTS):
        raise TabaeInputError(f"`code_act` must be None (a linear code) or one of {list(CODE_ACTS)}, got {code_act!r}")

def _check_valid_pct(valid_pct):
    "Raise `TabaeInputError` unless `valid_pct` is a share of the rows in [0, 1)."
    if not _is_p(valid_pct): raise TabaeInputError(f"`valid_pct` must be in [0, 1), got {valid_pct!r}")

def _check_lr(lr):
    "`lr` with plain floats for numpy's (which fastai's optimizer cannot take): a positive number, or a slice or list of them; else a `TabaeInputError`."
    if _is_positive(lr): return float(lr)
    if isinstance(lr, slice) and all(v is None or _is_positive(v) for v in (lr.start, lr.stop)) and lr.stop is not None:
        return slice(*(None if v is None else float(v) for v in (lr.start, lr.stop)))
    if is_listy(lr) and lr and all(map(_is_positive, lr)): return [float(v) for v in lr]
    raise TabaeInputError(f"`lr` must be a positive number (or a slice or list of them, as fastai's `fit` takes), got {lr!r}")

def _proc(to:Tabular, cls):
    return first(p for p in to.procs.fs if isinstance(p, cls))

def _in_procs(procs, cls:type) -> bool:
    "Whether `procs`, as `TabularPandas` takes them (classes or instances), hold a `cls`."
    return any(isinstance(p, cls) or (isinstance(p, type) and issubclass(p, cls)) for p in L(procs))

def user_columns(to:Tabular) -> tuple[list, list]:
    "The cat and cont column names a user gave (without the `<col>_na` columns that `FillMissing` adds)."
    fm = _proc(to, FillMissing)
    added = {f'{n}_na' for n in getattr(fm, 'na_dict', {})} if fm is not None and fm.add_col else set()
    return [c for c in to.cat_names if c not in added], list(to.cont_names)

def _to_pandas(o) -> str:
    "How to make a DataFrame of `o`, as a hint to end an error message with ('' when there is none)."
    if isinstance(o, pd.Series): return ": a Series is one row or one column, `row.to_frame().T` (or `learn.predict(row)`) for a row, `col.to_frame()` for a column"
    if hasattr(o, 'to_pandas'): return ": convert it with `.to_pandas()`"  # pyarrow and polars tables
    if isinstance(o, dict): return ": make one with `pd.DataFrame(d)`"
    if isinstance(o, np.ndarray): return ": make one with column names, `pd.DataFrame(a, columns=[...])`"
    return ""

def check_columns(df:pd.DataFrame, names:list, what:str='the training data') -> None:
    "Raise `TabaeInputError` naming every column of `names` that `df` lacks."
    if not isinstance(df, pd.DataFrame): raise TabaeInputError(f"Expected a pandas DataFrame, got {type(df).__name__}{_to_pandas(df)}")
    if isinstance(df.columns, pd.MultiIndex):
        raise TabaeInputError(f"The DataFrame has {df.columns.nlevels} levels of column names: flatten them first, e.g. `df.columns = ['_'.join(map(str, c)) for c in df.columns]`")
    missing = [c for c in names if c not in df.columns]
    if not missing: return
    keys = {_key(c): c for c in df.columns if isinstance(c, str)}
    near = [f"{m!r} is {keys[_key(m)]!r} there" for m in missing if isinstance(m, str) and _key(m) in keys]  # 'Age' or ' age' for 'age'
    hint = f"; differing only in case or surrounding spaces, {', '.join(near[:_DETAILED])}" + (f" and {len(near) - _DETAILED} more" if len(near) > _DETAILED else "") if near else ""
    raise TabaeInputError(f"Column(s) {_some(missing)} of {what} are missing from the DataFrame (it has {_some(df.columns)}){hint}")

def _key(name:str) -> str: return name.strip().casefold()

def _listify(o) -> list:
    "`o`'s items as a list: one name, or a list, tuple, set, generator, pandas Index or Series, numpy array or tensor of them (fastcore's `L` holds the last four as one item)."
    return np.ravel(o).tolist() if isinstance(o, (pd.Index, pd.Series, np.ndarray, Tensor)) else list(L(o))

def _is_cont(col:pd.Series) -> bool: return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)

def infer_columns(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, max_card:int|None=None) -> tuple[list, list]:
    "`(cat_names, cont_names)` for `df`: each given list is kept; a `None` one becomes the columns of its kind not named in the other (numeric: continuous, but with `max_card` and `cat_names` inferred, integers of at most `max_card` values, as fastai's `cont_cat_split`; the rest: categorical)."
    if max_card is not None and (not _is_int(max_card) or max_card < 0): raise TabaeInputError(f"`max_card` must be None or an int >= 0 (integer columns of at most that many values are categorical), got {max_card!r}")
    cat_given, cont_given = _listify(cat_names), _listify(cont_names)
    check_columns(df, cat_given + cont_given, 'cat_names/cont_names')
    both = sorted({c for c in cat_given if c in set(cont_given)}, key=str)
    if both: raise TabaeInputError(f"Column(s) {both} are in both `cat_names` and `cont_names`")
    rest = [c for c in df.columns if c not in set(cat_given + cont_given)]
    few = {c for c in rest if max_card is not None and cat_names is None and pd.api.types.is_integer_dtype(df[c]) and df[c].nunique(dropna=False) <= max_card}  # integer codes (regions, ratings), missing counted as fastai counts it; for an inferred `cat_names` only: a given one is the user's
    cats = cat_given if cat_names is not None else [c for c in rest if not _is_cont(df[c]) or c in few]
    conts = cont_given if cont_names is not None else [c for c in rest if _is_cont(df[c]) and c not in few]
    if not cats + conts: raise TabaeInputError("No columns to encode: `cat_names` and `cont_names` are both empty")
    return cats, conts

def check_frame(df:pd.DataFrame, min_rows:int=0, what:str='the input') -> None:
    "Raise `TabaeInputError` unless `df` is a DataFrame with at least `min_rows` rows."
    if not isinstance(df, pd.DataFrame): raise TabaeInputError(f"{what} must be a pandas DataFrame, got {type(df).__name__}{_to_pandas(df)}")
    if len(df) < min_rows: raise TabaeInputError(f"{what} needs at least {min_rows} row(s), the DataFrame has {len(df)}")

def _check_positive_int(name:str, v):
    "Raise `TabaeInputError` unless `v` is an integer >= 1 (numpy ints too)."
    if not _is_int(v) or v < 1: raise TabaeInputError(f"`{name}` must be a positive int, got {v!r}")

def _check_nonneg(name:str, v):
    "Raise `TabaeInputError` unless `v` is a finite number >= 0 (numpy's too, not a bool)."
    if not _is_p(v, high=math.inf): raise TabaeInputError(f"`{name}` must be a number >= 0, got {v!r}")

def _check_fraction(name:str, v, what:str):
    "Raise `TabaeInputError` unless `v` is None or a fraction of the fit in [0, 1] (`what` it marks)."
    if v is not None and not _is_p(v, closed=True): raise TabaeInputError(f"`{name}` must be None or a fraction of the fit in [0, 1] ({what}), got {v!r}")

def _check_emb_szs(emb_szs:dict|None, cat_names:list):
    "Raise `TabaeInputError` unless `emb_szs` is None or maps categorical columns of the data to positive sizes."
    if emb_szs is None: return
    if not isinstance(emb_szs, dict): raise TabaeInputError(f"`emb_szs` must be a dict {{column: size}}, got {type(emb_szs).__name__}: {emb_szs!r}")
    if unknown := [c for c in emb_szs if c not in cat_names]: raise TabaeInputError(f"`emb_szs` names {unknown}, which are not categorical columns of the data ({list(cat_names)})")
    if bad := {c: n for c, n in emb_szs.items() if not _is_int(n) or n < 1}: raise TabaeInputError(f"`emb_szs` sizes must be positive ints, got {bad}")

def check_hparams(code_size:int=128, layers:list=(1024, 512, 256), ps:float|list=0.1, swap_p:float|list=0.1, n_in:int|None=None,
                  decoder:str='mirror', bin_targets:int=0, bin_inputs:bool=False, code_act:str|None=None) -> None:
    "Raise `TabaeInputError` naming the first of `code_size`, `layers`, `decoder`, `code_act`, `ps`, `swap_p`, `bin_targets`, `bin_inputs` out of range (`n_in`: input columns, for a per-column `swap_p`)."
    _check_arch(code_size, layers := _as_list(layers), decoder, code_act)
    ps, swap_p = _as_list(ps), _as_list(swap_p)
    if not (_is_p(ps) or (is_listy(ps) and len(ps) == len(layers) and all(map(_is_p, ps)))):
        raise TabaeInputError(f"`ps` must be a dropout probability in [0, 1) or a list of {len(layers)} of them (one per layer), got {ps!r}")
    if not (_is_p(swap_p, closed=True) or (is_listy(swap_p) and len(swap_p) == ifnone(n_in, len(swap_p)) and all(_is_p(p, closed=True) for p in swap_p))):
        raise TabaeInputError(f"`swap_p` must be a probability in [0, 1] or a list of them, one per input column ({n_in}), got {swap_p!r}")
    if not _is_int(bin_targets) or bin_targets < 0 or bin_targets == 1:
        raise TabaeInputError(f"`bin_targets` must be 0 (off) or an int >= 2 (bins per continuous column), got {bin_targets!r}")
    if not isinstance(bin_inputs, (bool, np.bool_)): raise TabaeInputError(f"`bin_inputs` must be True or False, got {bin_inputs!r}")
    if bin_inputs and not bin_targets: raise TabaeInputError("`bin_inputs` embeds the `bin_targets` bins: with `bin_inputs=True`, `bin_targets` must be >= 2, got 0")

_PLAIN = {'string', 'integer', 'floating', 'mixed-integer-float', 'boolean', 'empty'}

def _is_text(col:pd.Series) -> bool:
    return isinstance(col.dtype, pd.StringDtype) or (col.dtype == object and infer_dtype(col, skipna=True) in ('string', 'empty'))

def cat_column(col:pd.Series, classes:list|None=None) -> pd.Series:
    "`col` as values `Categorify` matches by value: no pandas categories, missing as NaN, `str` for mixed or unorderable values (all values if the training `classes` are text)."
    as_str = classes is not None and all(isinstance(o, str) for o in classes[1:])
    if not ((isinstance(col.dtype, np.dtype) and col.dtype.kind in 'biufO') or isinstance(col.dtype, pd.StringDtype)):
        col = col.astype(object).where(col.notna(), np.nan)
    if not as_str and (col.dtype != object or infer_dtype(col, skipna=True) in _PLAIN): return col
    return col if _is_text(col) else col.map(partial(_text, classes=set(classes)) if as_str else str, na_action='ignore').astype(object)

def _kept_order(orig:pd.Series, col:pd.Series) -> pd.Series:
    "`col`, `orig` cleaned by `cat_column`, as a pandas categorical in the order of `orig`'s categories (ordered if they were) when `orig` is one: fastai's `Categorify` keeps that order (categories that cleaning turns into text, such as `pd.cut`'s intervals or mixed types, are that text)."
    if not isinstance(orig.dtype, pd.CategoricalDtype): return col
    cats = pd.unique(cat_column(orig.cat.categories.to_series()).dropna())
    if len(cats) < len(orig.cat.categories) or not col.dropna().isin(cats).all(): return col  # cleaning merged or changed classes: sorted, as other text
    return pd.Series(pd.Categorical(col, categories=cats, ordered=orig.cat.ordered), index=col.index)

def _text(v, classes:set) -> str:
    "`str(v)`, but a whole float as the text class its integer form is (a CSV chunk or a column with a gap reads '1' as 1.0)."
    if isinstance(v, float) and v.is_integer() and (s := str(int(v))) in classes and str(v) not in classes: return s
    return str(v)

def _not_numbers(vals:pd.Series) -> str:
    "What in `vals` (no gaps) is not a number: the rows and values `pd.to_numeric` cannot read, else a few values (numbers written as text)."
    try: odd = vals[pd.to_numeric(vals.astype(object), errors='coerce').isna()] if vals.dtype.kind != 'c' else vals
    except (TypeError, ValueError): odd = vals
    if not len(odd): return f"numbers {'as categories' if isinstance(vals.dtype, pd.CategoricalDtype) else 'written as text'}, such as {vals.iloc[:3].tolist()}"
    return f"{len(odd)} row(s) of values that are not numbers, such as {odd.drop_duplicates().iloc[:3].tolist()} (`errors='coerce'` makes them missing)"

_DATE_KINDS = {'datetime', 'datetime64', 'date', 'period'}
_TIME_KINDS = _DATE_KINDS | {'time', 'timedelta', 'timedelta64'}

_TEXT_DATE = r'\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{4}/\d{1,2}/\d{1,2}|\d{1,2}/\d{1,2}/\d{4}'

def _text_dates(col:pd.Series, n:int=100) -> bool:
    "Whether `col` is text whose values (the first `n` distinct ones) are all dates as a CSV holds them: 2022-02-11, 2022-02-11 08:30:00, 11/02/2022."
    if not _is_text(vals := col.dtype.categories.to_series() if isinstance(col.dtype, pd.CategoricalDtype) else col): return False
    vals = vals.dropna().drop_duplicates().iloc[:n].astype(str)
    return bool(len(vals)) and bool(vals.str.fullmatch(_TEXT_DATE).all()) and bool(pd.to_datetime(vals, errors='coerce', format='mixed').notna().all())  # 2020-99-99 is not one

def _holds_dates(col:pd.Series, kinds:set=_DATE_KINDS) -> bool:
    "Whether `col` holds dates (with `_TIME_KINDS`, times of day and durations too): such a dtype, a categorical of them, or such Python objects."
    vals = col.dtype.categories if isinstance(col.dtype, pd.CategoricalDtype) else col
    kind = getattr(vals.dtype, 'kind', 'O')  # numpy, pandas and Arrow datetimes are 'M', durations 'm'
    if kind == 'M' or isinstance(vals.dtype, pd.PeriodDtype): return True
    if kind == 'm': return 'timedelta' in kinds
    return vals.dtype == object and infer_dtype(vals, skipna=True) in kinds

def _cont_column(col:pd.Series, name, trained:bool=False) -> pd.Series:
    "`col` as float64 with +/-inf as NaN, or a `TabaeInputError` saying why it cannot be continuous (and, `trained`: that the model took numbers in it, not how to declare it categorical)."
    kind = infer_dtype(col, skipna=True) if col.dtype == object else None
    if kind == 'empty': return pd.Series(np.full(len(col), np.nan))  # only None/pd.NA (e.g. one row's missing number): missing numbers
    other = ", and the model was trained on numbers in it: convert them as its training values were" if trained else ""
    if col.dtype.kind == 'b' or kind == 'boolean':
        raise TabaeInputError(f"Continuous column {name!r} holds booleans" + (other + ", e.g. `.astype(float)`" if trained else ": pass it in `cat_names`"))
    if kind in ('integer', 'floating', 'mixed-integer-float', 'decimal'):  # Python numbers in an object column (a JSON or database round trip)
        col = pd.to_numeric(col)
        if col.dtype == object: col = col.astype(np.float64)  # ints past int64's range
    if _holds_dates(col, _TIME_KINDS):
        raise TabaeInputError(f"Continuous column {name!r} holds dates or times (dtype {col.dtype})" + (other if trained else ": convert it to numbers (e.g. days since a date) or pass it in `cat_names`"))
    if not pd.api.types.is_numeric_dtype(col) or col.dtype.kind == 'c':
        alt = "" if trained else " or pass it in `cat_names`"
        if isinstance(col.dtype, pd.CategoricalDtype) and col.dtype.ordered:  # its rank is the number: codes, with -1 for missing
            raise TabaeInputError(f"Continuous column {name!r} is an ordered categorical ({' < '.join(map(repr, col.dtype.categories[:4]))}{' < ...' * (len(col.dtype.categories) > 4)}): "
                                  f"take its ranks, `df[{name!r}].cat.codes.where(df[{name!r}].notna())`" + ("," + alt if alt else ""))
        raise TabaeInputError(f"Continuous column {name!r} must be numeric, got dtype {col.dtype} with {_not_numbers(col.dropna())}: convert it with `pd.to_numeric`{alt}")
    return pd.Series(col.to_numpy(dtype=np.float64, na_value=np.nan)).replace([np.inf, -np.inf], np.nan)

def _cont_columns(df:pd.DataFrame, names:list, trained:bool=False) -> dict:
    "`{name: _cont_column(df[name], name, trained)}` for each of `names`, or one `TabaeInputError` saying why the columns that cannot be continuous cannot (not the first alone; the first `_DETAILED`, then names)."
    res, why = {}, {}
    for c in names:
        try: res[c] = _cont_column(df[c], c, trained)
        except TabaeInputError as e: why[c] = str(e)
    if len(why) == 1: raise TabaeInputError(first(why.values()))
    if why: raise TabaeInputError(f"{len(why)} columns cannot be continuous:\n" + '\n'.join(list(why.values())[:_DETAILED])
                                  + (f"\nalso {_some(list(why)[_DETAILED:])}" if len(why) > _DETAILED else ""))
    return res

def _check_unique(df:pd.DataFrame, names:list):
    dups = [] if df.columns.is_unique else [c for c in names if (df.columns == c).sum() > 1]
    if dups: raise TabaeInputError(f"Column(s) {dups} appear more than once in the DataFrame: rename the duplicates")

def _check_names(df:pd.DataFrame, cat_names:list, cont_names:list):
    names = cat_names + cont_names
    if not names: raise TabaeInputError("No columns to learn from: pass at least one name in `cat_names` or `cont_names`, or take them from the dtypes, "
                                        "leaving out any target (codes that hold it leak it downstream): `cats, conts = infer_columns(df.drop(columns=[target]))`")
    if bools := [c for c in names if isinstance(c, (bool, np.bool_))]:  # before the repeats: pandas and Python take True for 1
        raise TabaeInputError(f"Column name(s) {bools} are booleans, which pandas reads as a mask of rows: rename them, e.g. `df = df.rename(columns=str)`")
    dups = [c for c in dict.fromkeys(names) if names.count(c) > 1]
    if dups: raise TabaeInputError(f"Column(s) {dups} are given more than once in `cat_names`/`cont_names`: each column is either categorical or continuous")
    check_columns(df, names, '`cat_names`/`cont_names`')
    tuples = [c for c in names if isinstance(c, tuple)]
    if tuples: raise TabaeInputError(f"Column name(s) {tuples} are tuples, which pandas and fastai read as levels of column names: "
                                     "rename them, e.g. `df.columns = ['_'.join(map(str, c)) if isinstance(c, tuple) else c for c in df.columns]`")
    _check_unique(df, names)

def clean_train_frame(df:pd.DataFrame, cat_names:list, cont_names:list, splits:tuple, valid_pct:float=0.) -> pd.DataFrame:
    "A new frame of `df`'s cat and cont columns (positional index, continuous gaps kept as NaN) that the procs can set up on, or a `TabaeInputError`."
    check_frame(df, 1, 'The training DataFrame')
    cat_names, cont_names = _listify(cat_names), _listify(cont_names)
    _check_names(df, cat_names, cont_names)
    train, valid = (list(s) for s in splits)
    if valid_pct and not valid: raise TabaeInputError(f"With `valid_pct`={valid_pct} the validation split of {len(df)} row(s) is empty: "
                                                      f"pass at least {math.ceil(1 / valid_pct)} rows, or `valid_pct=0` to monitor the training loss")
    if len(train) < 2: raise TabaeInputError(f"Training needs at least 2 rows in the training split, got {len(train)} of {len(df)}")
    cols = {c: cat_column(df[c]).reset_index(drop=True) for c in cat_names}
    na_named = [c for c in cat_names if cols[c].isin([_NA]).any()]
    if na_named: raise TabaeInputError(f"Categorical column(s) {na_named} hold the value '#na#', which fastai's `Categorify` keeps for missing and unseen "
                                       "values, so the two would merge: rename that value (e.g. `df[col].replace('#na#', 'na')`), or make it NaN if it means missing")
    cols.update(_cont_columns(df, cont_names))
    train_cols = {c: cols[c].iloc[train] for c in cat_names + cont_names}  # taken once: the checks and both warnings read them
    if clash := [f'{c}_na' for c in cont_names if f'{c}_na' in train_cols and train_cols[c].isna().any()]:  # a column without training gaps gets no flag
        raise TabaeInputError(f"Column(s) {clash} clash with the missing-value flags tabae adds for continuous columns with gaps in the training rows: rename them")
    empty = [c for c, col in train_cols.items() if col.isna().all()]
    if empty: raise TabaeInputError(f"Column(s) {empty} have no value in the {len(train)} training rows (all missing; for numbers, no finite value): drop them or fill them")
    named = _warn_uninformative(train_cols, set(cat_names), {c for c in cat_names if _holds_dates(df[c]) or _text_dates(df[c])})
    _warn_many_classes({c: train_cols[c] for c in cat_names if c not in named})
    _warn_numbers_as_text({c: train_cols[c] for c in cat_names if c not in named})
    return pd.DataFrame({**cols, **{c: _kept_order(df[c], cols[c]) for c in cat_names}})

def _warn_columns(cls:type, what:str, why:dict, advice:str):
    "One `cls` warning at the user's line, \"`what`: 'col' has `why[col]`; ... `advice`\", when `why` names any column: the first `_DETAILED` with why, the next ones by name (`_some`), then a count (`columns` holds them all)."
    if not why: return
    cols = list(why)
    msg = '; '.join(f"{c!r} has {why[c]}" for c in cols[:_DETAILED])
    if rest := cols[_DETAILED:]:
        msg += f"; also {_some(rest)} (the warning's `columns` says why for each)"
    warnings.warn(cls(f"{what}: {msg}. {advice}", why), stacklevel=_caller_level())

_MIN_ID_ROWS = 20  # training rows from which a categorical column with a different value in every row is warned about as an identifier
_ID_SHARE = 0.9  # an identifier too: a categorical column whose value no other training row has in this share of its rows (titles, free text)

def _row_numbers(col:pd.Series) -> bool:
    "Whether the numbers `col` (all distinct) are whole, none missing, and packed too densely for values drawn at random to be distinct: row numbers, or those of a sample of rows (random whole numbers in that span would repeat 10 times on average: distinct by chance about once in 20,000)."
    v = col.to_numpy(np.float64)
    return bool(np.isfinite(v).all() and (v == np.round(v)).all() and len(v) ** 2 / (2 * (v.max() - v.min() + 1)) >= 10)

def _warn_uninformative(train_cols:dict, cat_names:set, dated:set=frozenset()) -> dict:
    "One `UninformativeColumnWarning` naming each training column with one value (missing counts as a value) in every row, categorical with a different value in each (or in nearly each: `_ID_SHARE`), of row numbers (`_row_numbers`), or categorical of dates (`dated`); the columns named, with why."
    why = {}
    for c, col in train_cols.items():
        n = col.nunique(dropna=False)
        if n == 1: why[c] = f"one value ({v.item() if isinstance(v := col.iloc[0], np.generic) else v!r}) in all {len(col)} training rows"
        elif c in dated: why[c] = (f"dates as {n} categories (a date after training is unseen, '{_NA}'; fastai's `add_datepart(df, {c!r})` makes "
                                   "numbers and categories of it that recur, or convert it to numbers, e.g. days since a date)")
        elif len(col) < _MIN_ID_ROWS: continue
        elif c not in cat_names:
            if n == len(col) and _row_numbers(col):
                why[c] = f"a different whole number in each of the {len(col)} training rows, {col.min():.0f} to {col.max():.0f} (row numbers or an identifier? as a number it only orders the rows)"
        elif n == len(col) and col.notna().all():
            why[c] = f"a different category in each of the {len(col)} training rows (an identifier? held-out rows will all be unseen, '{_NA}')"
        elif (once := (col.value_counts() == 1).sum() / len(col)) >= _ID_SHARE:
            why[c] = f"a category no other training row has in {once:.0%} of the {len(col)} training rows (an identifier or free text? most held-out rows will be unseen, '{_NA}')"
    _warn_columns(UninformativeColumnWarning, "Column(s) the code can learn nothing lasting from", why, "Leave them out of `cat_names`/`cont_names`")
    return why

_MANY_CLASSES = 5_000  # a column's classes from which its logits (a 1,024-wide head: 5M weights) outweigh Adult's whole model (3.5M); 24,000 made a fit 10x slower

def _warn_many_classes(train_cats:dict):
    "One `ManyClassesWarning` naming each categorical column with more than `_MANY_CLASSES` classes in the training rows `train_cats`."
    why = {c: f"{n:,} classes in the training rows" for c, col in train_cats.items() if (n := col.nunique()) > _MANY_CLASSES}
    _warn_columns(ManyClassesWarning, "Categorical column(s) with many classes, each rebuilt as one logit per class per row, so the model's size and time grow with them",
                  why, "Group the rare classes (e.g. keep the 1,000 most frequent and call the rest 'other'), or leave the columns out")

_TEXT_NUMBER_CLASSES, _TEXT_NUMBER_SHARE = 20, 0.9  # classes from which, and share of them that read as numbers (without %, currency signs, thousands separators), a text column is named

def _warn_numbers_as_text(train_cats:dict):
    "One `NumbersAsTextWarning` naming each categorical column of the training rows `train_cats` whose classes, more than `_TEXT_NUMBER_CLASSES`, read as numbers in `_TEXT_NUMBER_SHARE` or more of them."
    why = {}
    for c, col in train_cats.items():
        if not _is_text(vals := col.dropna()) or (u := pd.Series(vals.unique(), dtype=object)).size <= _TEXT_NUMBER_CLASSES: continue
        nums = pd.to_numeric(u.astype(str).str.replace(r'[\s,%$€£]', '', regex=True), errors='coerce')
        if (share := nums.notna().mean()) >= _TEXT_NUMBER_SHARE:
            why[c] = f"{len(u):,} classes, {int(share * 100)}% of them numbers as text (such as {u[nums.notna()].head(3).tolist()}{', beside ' + repr(u[nums.isna()].head(2).tolist()) if share < 1 else ''})"
    _warn_columns(NumbersAsTextWarning, "Categorical column(s) of numbers held as text, each value a class of its own (their order lost)", why,
                  "If they are quantities, convert them, e.g. `pd.to_numeric(df[col].str.rstrip('%'), errors='coerce')`, and pass them in `cont_names`")

_EXTREME_Z = 40  # standard deviations of the other rows from their mean: one such training value wrecked the rebuilds of wind_speed in `benchmarks/extreme_values.py` (R2 0.82 at 53, below 0 from there; fine at 25)

def _warn_extreme(train_conts:pd.DataFrame):
    "One `ExtremeValueWarning` naming each continuous column of the training rows `train_conts` whose farthest value lies more than `_EXTREME_Z` standard deviations of the other rows from their mean (so a table's size does not cap it)."
    why = {}
    for c in train_conts.columns:
        v = train_conts[c].dropna().to_numpy(np.float64)
        if len(v) < 3: continue
        with np.errstate(over='ignore', invalid='ignore', divide='ignore'):  # numbers too large to square: `check_train_data` names them; the other rows all equal: z is inf, not measured
            i = np.abs(v - v.mean()).argmax()
            rest = np.delete(v, i)
            z = abs(v[i] - rest.mean()) / rest.std()
        if np.isfinite(z) and z > _EXTREME_Z:
            lo, hi = np.quantile(v, [0.005, 0.995])
            why[c] = f"{v[i]:.6g}, {z:.0f} standard deviations of the other rows from their mean (99% of the rows lie in [{lo:.6g}, {hi:.6g}])"
    _warn_columns(ExtremeValueWarning, "Continuous column(s) with an extreme training value, which sets the column's scale and range and can wreck the rebuilds of "
                  "the column and the rest of the row", why, "Try `rank_gauss=True` (it keeps the values' order, not their scale: right for heavy tails such as money), or drop or clip such rows if they are errors")

def _plain(o):
    "A proc's fitted value as plain Python, for comparing: lists for fastai's `L`/`CategoryMap` and numpy arrays, floats for numbers, 'nan' for NaN (equal to itself)."
    if isinstance(o, (CollBase, list, tuple, np.ndarray)): return [_plain(v) for v in o]
    if isinstance(o, (float, np.floating)): return 'nan' if np.isnan(o) else float(o)
    return o

_FITTED = ('classes', 'na_dict', 'means', 'stds', 'quantiles')  # what `Categorify`, `FillMissing`, `Normalize` and `RankGauss` learn from the training rows

def _procs_state(to:Tabular) -> dict:
    "The columns of `to` and what its procs learned from its training rows (classes, fill values, means and standard deviations, quantiles), to tell two preprocessings apart."
    res = {'columns': [list(to.cat_names), list(to.cont_names)]}
    for p in to.procs.fs:
        for k in _FITTED:
            if isinstance(v := getattr(p, k, None), dict): res[f'{type(p).__name__}.{k}'] = {c: _plain(x) for c, x in v.items()}
    return res

_NEW_ROWS = ("the model reads rows processed by the DataLoaders it was built on: build new ones from those (`dls`, before `learn.dls` was replaced), "
             "`learn.dls = AEDataLoaders(dls.test_dl(df, shuffle=True, drop_last=True), dls.test_dl(valid_df))`")

def _check_procs(learn):
    "Raise `TabaeInputError` when any of `learn.dls` was processed apart from the data `learn`'s model was built on (other classes, fill values or scales: the model's inputs would mean other things); learners built before tabae kept that data's procs are not checked."
    ref = getattr(learn, '_procs', None)  # the data the model was built on, rows dropped (`Tabular.new_empty`, which keeps its proc objects)
    if ref is None: return
    for dl in learn.dls.loaders:
        if not isinstance(to := getattr(dl, 'dataset', None), Tabular): continue  # not tabular rows: nothing to compare
        same = list(to.cat_names) == list(ref.cat_names) and list(to.cont_names) == list(ref.cont_names) and len(to.procs.fs) == len(ref.procs.fs)
        if same and all(a is b for a, b in zip(to.procs.fs, ref.procs.fs)): continue  # the same procs: nothing to compare value by value
        was, now = _procs_state(ref), _procs_state(to)
        if was == now: continue
        key = first(k for k in list(was) + list(now) if was.get(k) != now.get(k))
        proc, _, fitted = key.partition('.')
        if key == 'columns': what = "other columns"
        elif key not in now: what = f"no {proc}, unlike the model's data"
        elif key not in was: what = f"a {proc}, unlike the model's data"
        else:
            a, b = was[key], now[key]
            what = f"{fitted} of {first(c for c in list(a) + [c for c in b if c not in a] if a.get(c) != b.get(c))!r} unlike the model's data"
        raise TabaeInputError(f"`learn.dls` holds rows processed apart from the data this model was built on ({what}), whose classes and scales would mean other things to it: {_NEW_ROWS}")

def clean_encode_frame(df:pd.DataFrame, to:Tabular) -> pd.DataFrame:
    "A new frame of `df`'s training columns (positional index), categoricals as `Categorify` expects them; extra columns are ignored."
    cats, conts = user_columns(to)
    check_columns(df, cats + conts)
    _check_unique(df, cats + conts)
    res = df[cats + conts].reset_index(drop=True)
    classes = getattr(_proc(to, Categorify), 'classes', {})
    for c in cats: res[c] = cat_column(res[c], classes.get(c))
    return res

def _no_categorify(cat_names:list, added:list=()):
    "Raise the `TabaeInputError` for categorical columns that no `Categorify` proc turns into indices (`added`: those `FillMissing` added)."
    why = f" ({list(added)} added by `FillMissing` for continuous columns with gaps; `FillMissing(add_col=False)` adds none)" if added else ""
    raise TabaeInputError(f"`procs` must include `Categorify` when there are categorical columns (it turns their values into embedding indices): {list(cat_names)}{why}")

def check_train_data(dls:DataLoaders) -> None:
    "Raise `TabaeInputError` unless the processed training split has at least 2 rows, a `Categorify` proc for any categorical columns, finite `Normalize` statistics and only finite continuous values."
    tdl = dls.train
    if tdl.n < 2: raise TabaeInputError(f"The training split has {tdl.n} row(s): an autoencoder needs at least 2 (BatchNorm)")
    if (to := dls.train_ds).cat_names and _proc(to, Categorify) is None: _no_categorify(to.cat_names, [c for c in to.cat_names if c not in user_columns(to)[0]])
    if (norm := _proc(dls.train_ds, Normalize)) is not None:
        huge = [c for c in dls.train_ds.cont_names if not (np.isfinite(norm.means[c]) and np.isfinite(norm.stds[c]))]
        if huge: raise TabaeInputError(f"Continuous column(s) {huge} are too large to normalize: their mean or standard deviation over the training rows "
                                       "overflows float64 (values beyond about 1e154 square past its range); rescale them, e.g. divide by a power of 10")
    bad = [c for c, ok in zip(dls.train_ds.cont_names, torch.isfinite(tdl.conts).all(0).tolist()) if not ok]
    if bad: raise TabaeInputError(f"Continuous column(s) {bad} hold NaN or inf after the procs in the training split: "
                                  "keep `FillMissing` and `Normalize` in `procs`, and check the values fit in float32")

def _warn_left_out(df:pd.DataFrame, cat_names:list|None, cont_names:list|None):
    "Warn when one of `cat_names`/`cont_names` is `None` (fastai's: no such columns) and `df` has columns of that kind named in neither: easily an oversight."
    if (cat_names is None) == (cont_names is None) or not isinstance(df, pd.DataFrame): return  # both or neither given; bad frames are named by the checks
    arg, numeric, named = ('cont_names', True, set(_listify(cat_names))) if cont_names is None else ('cat_names', False, set(_listify(cont_names)))
    if not (left := [c for c in df.columns if c not in named and _is_cont(df[c]) == numeric]): return
    names = _some(left, 10)
    warnings.warn(f"`{arg}` is not given, so the {'numeric' if numeric else 'non-numeric'} column(s) {names} are left out of the autoencoder: "
                  f"pass them in `{arg}` (`infer_columns(df.drop(columns=[target]))` lists the columns by dtype), or `{arg}=[]` to leave them out without this warning", stacklevel=_caller_level())

_MIN_SHIFT_ROWS = 20  # rows from which a column is warned about as unlike its training values (one row to `predict` is not a shift)
_READ_AS_MISSING = {'', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None',
                    'n/a', 'nan', 'null'}  # pandas' `read_csv` reads these as missing unless told otherwise (its `na_values` documentation)
_SHIFT = contextvars.ContextVar('tabae_input_shift', default=None)  # the `_InputShift` that `model_outputs` calls count into, when one is shared

def _missing_share(to:Tabular, c) -> float|None:
    "The share of `to`'s training rows missing in column `c` (processed: '#na#', or `FillMissing`'s flag), or None when `to` keeps no rows (a loaded learner)."
    if not len(to.items): return None
    if c in to.cont_names:
        flag = f'{c}_na'
        return float((to.items[flag] == to.classes[flag].o2i[True]).mean()) if flag in set(to.cat_names) - set(user_columns(to)[0]) and True in to.classes[flag].o2i else 0.
    return float((to.items[c] == 0).mean())

def _tolerance(lo, hi):
    "Float32 rounding at the bounds `lo`..`hi`: 1e-5 of the range, or of the bounds' size where they are equal (a column constant in training)."
    return 1e-5 * np.where(hi > lo, hi - lo, np.maximum(np.abs(lo), np.abs(hi)))

def _reads_as_number(values) -> np.ndarray:
    "Which of `values` are finite numbers, or text that reads as one ('12', '3.5': classes cleaned to text); booleans are not."
    v = pd.Series(values, dtype=object)
    return np.isfinite(pd.to_numeric(v, errors='coerce').to_numpy(np.float64, na_value=np.nan)) & ~v.map(lambda o: isinstance(o, (bool, np.bool_))).to_numpy(bool)

def _kinds_of(values:pd.Series) -> dict:
    "`{'numbers': (count, a few), 'text': (count, a few)}` of `values`: those that are or read as numbers, and other text (booleans and other objects are neither)."
    num = _reads_as_number(values)
    txt = values.map(lambda o: isinstance(o, str)).to_numpy(bool) & ~num
    return {k: (int(m.sum()), _shortened(pd.unique(values[m].iloc[:1000])[:3].tolist())) for k, m in (('numbers', num), ('text', txt))}

def _kind(values:list) -> str|None:
    "'numbers' when all of `values` (one or more) are or read as numbers (`_reads_as_number`), 'text' when all are other text, else None."
    if not len(values): return None
    if (num := _reads_as_number(values)).all(): return 'numbers'
    if not num.any() and all(isinstance(v, str) for v in values): return 'text'

class _InputShift:
    "What `model_outputs` counts, chunk by chunk, to warn once of columns unlike their training values: missing in every row (mostly present in training), mostly outside the training range or of unseen classes, or missing where a training class is a word `read_csv` reads as missing."
    def __init__(self, to:Tabular, bounds:np.ndarray|None=None):
        "Counts against `to`, the training data, and `bounds`, the `(low, high)` training range in normalized units (None: no range to compare with); under `RankGauss`, its quantiles' range."
        self.to = to
        self.cats, self.conts = user_columns(to)
        self.words = {c: w for c in self.cats if (w := [v for v in to.classes[c][1:] if isinstance(v, str) and v in _READ_AS_MISSING])}
        rg, self.range = _proc(to, RankGauss), bounds
        if rg is not None: self.range = np.array([[q[0], q[-1]] for q in (rg.quantiles[c] for c in self.conts)]).T.reshape(2, -1)  # original units: it clamps past them
        self.raw = rg is not None
        self.n, self.missing, self.worded, self.outside = 0, pd.Series(0, index=self.cats + self.conts), pd.Series(0, index=list(self.words)), 0
        self.kinds = {}  # of the values training never saw, `{column: {kind: [rows, a few values]}}` (`_kinds_of`)

    @classmethod
    def of(cls, learn:Learner) -> _InputShift:
        "The counter for `learn`'s rows to encode, against its model's training range (kept when the learner keeps no rows)."
        try: return cls(learn.dls.train_ds, np.stack([t.float().cpu().numpy() for t in get_model(learn.model).cont_head[-1].data_range()]))  # normalized units
        except (AttributeError, TypeError, IndexError): return cls.of_dls(learn.dls)  # not a `TabularAE` head

    @classmethod
    def of_dls(cls, dls:DataLoaders) -> _InputShift:
        "The counter for `dls.test_dl`'s rows, against the range of the training loader's processed numbers (none when it keeps no rows)."
        conts = getattr(dls.train, 'conts', None)  # the tensor `TabDataLoaderIdentity` batches from: no copy of the frame
        return cls(dls.train_ds, torch.stack(torch.aminmax(conts, dim=0)).float().cpu().numpy() if conts is not None and conts.numel() else None)

    @classmethod
    @contextlib.contextmanager
    def shared(cls, learn:Learner):
        "Within it, every `model_outputs` call counts into one `_InputShift`, which warns once, at the end, of all the rows: the chunks of one file."
        shift = cls.of(learn)
        token = _SHIFT.set(shift)
        try: yield shift
        finally: _SHIFT.reset(token)
        shift.warn()

    def update(self, df:pd.DataFrame, conts:Tensor, index):
        "Count `df`'s missing values per column (infinite numbers too), its training words `read_csv` reads as missing, its numbers outside the training range (`conts`: processed) and its categories training never saw (`index`, the `_ClassIndex` that matched them: how many are numbers and text, a few of each)."
        self.n += len(df)
        for c, kinds in index.kinds.items():
            for kind, (k, ex) in kinds.items():
                seen = self.kinds.setdefault(c, {}).setdefault(kind, [0, []])
                seen[0] += k
                seen[1] += [v for v in ex if v not in seen[1]][:3 - len(seen[1])]  # the first few of each kind, from whichever chunks have them
        nums = {c: _cont_column(df[c], c, trained=True).to_numpy() for c in self.conts}  # float64, infinities as NaN: the numbers as training read them
        self.missing += pd.concat([df[self.cats].isna().sum(), pd.Series({c: int(np.isnan(v).sum()) for c, v in nums.items()}, dtype=int)])
        for c, w in self.words.items(): self.worded[c] += int(df[c].isin(w).sum())
        if self.range is None or not self.conts: return
        x = np.stack(list(nums.values()), 1) if self.raw else conts.numpy()
        lo, hi = self.range
        tol = _tolerance(lo, hi)
        with np.errstate(invalid='ignore'): self.outside = self.outside + ((x < lo - tol) | (x > hi + tol)).sum(0)

    def warn(self):
        "One `InputShiftWarning` naming the columns found, if any."
        why, n = {}, self.n
        if n < _MIN_SHIFT_ROWS: return
        why.update({c: f"no value in any of the {n:,} rows" for c in self.cats + self.conts
                    if self.missing[c] == n and ((s := _missing_share(self.to, c)) is None or s < 0.5)})  # a column mostly missing in training may be missing in every row
        why.update({c: f"values outside the training range in {k:,} of the {n:,} rows" for c, k in zip(self.conts, np.broadcast_to(self.outside, len(self.conts)))
                    if k > n / 2 and c not in why})
        for c in self.kinds:  # most rows of another kind than the training classes (codes for text): new classes of the same kind (a new month) are not a shift
            a = {'text': 'numbers', 'numbers': 'text'}.get(b := _kind(cls := list(self.to.classes[c][1:])))
            k, ex = self.kinds.get(c, {}).get(a, (0, []))
            if k > n / 2 and c not in why:
                why[c] = f"{a} training never saw in {k:,} of the {n:,} rows, such as {ex}, where the training classes are {b}, such as {_shortened(cls[:3])}"
        why.update({c: (f"{self.missing[c]:,} missing value(s) and none of its training class(es) {w[:3]}, which `read_csv` (and so a CSV given to the command "
                        "line) reads as missing: if the rows come from a CSV, keep the words, e.g. `read_csv(..., keep_default_na=False, na_values=['', '?'])`, or use parquet")
                    for c, w in self.words.items() if self.missing[c] and not self.worded[c] and c not in why})
        _warn_columns(InputShiftWarning, "Column(s) unlike their training values (a failed join, other units, or another reader?)", why,
                      "Check how the rows were built: their codes take such values as missing, or as the training range allows, without an error")
