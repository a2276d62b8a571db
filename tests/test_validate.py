import datetime, pickle, re, sys, tempfile, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import Callback, Categorify, FillMissing, Normalize, RandomSplitter, first
from sklearn.metrics import balanced_accuracy_score
from tabae import *

KW = dict(code_size=8, layers=[32, 16], epochs=1, bs=64, progress=False)

def frame(n=160, seed=0):
    "Mixed columns: text and int categories, a continuous column with NaN and one without."
    r = np.random.default_rng(seed)
    return pd.DataFrame({'a': r.choice(['x', 'y', 'z'], n), 'b': r.integers(0, 4, n),
                         'c': np.where(r.random(n) < 0.1, np.nan, r.normal(size=n)), 'd': r.normal(50, 10, n)})

def fit(df, cats=('a', 'b'), conts=('c', 'd'), **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fit_autoencoder(df, list(cats), list(conts), **{**KW, **kw})

@pytest.fixture(scope='module')
def learn(): return fit(frame())

def finite(codes:pd.DataFrame) -> bool: return bool(np.isfinite(codes.to_numpy()).all())

def test_missing_column_is_named(learn):
    with pytest.raises(TabaeInputError, match="'zz'"): fit(frame(), cats=['a', 'zz'])
    df = frame().drop(columns='c')
    for f in (encode, reconstruct, evaluate):
        with pytest.raises(TabaeInputError, match=r"Column\(s\) \['c'\] of the training data are missing from the DataFrame \(it has \['a', 'b', 'd'\]\)$"): f(learn, df)

def test_a_missing_column_that_differs_only_in_case_or_spaces_is_pointed_to(learn):
    "A CSV with other capitals or padded headers reads as missing columns: the message says which column is there under another spelling."
    df = frame().rename(columns={'a': 'A', 'c': ' c '})
    with pytest.raises(TabaeInputError, match=r"Column\(s\) \['a', 'c'\] .*; differing only in case or surrounding spaces, 'a' is 'A' there, 'c' is ' c ' there$"): encode(learn, df)

def test_extra_columns_are_ignored(learn):
    df = frame(50, seed=1)
    assert np.array_equal(encode(learn, df.assign(extra='text', more=1.5)).values, encode(learn, df).values)
    assert list(reconstruct(learn, df.assign(extra=1)).columns) == ['a', 'b', 'c', 'd']

def test_no_columns_says_how_to_take_them_from_the_dtypes():
    "`fit_autoencoder(df)` names `infer_columns` and the target it should leave out (the scikit-learn transformer and the CLI infer; `fit_autoencoder` does not guess)."
    for args in ((), ([], [])):
        with pytest.raises(TabaeInputError, match=r"No columns to learn from: .* `cats, conts = infer_columns\(df.drop\(columns=\[target\]\)\)`"): fit_autoencoder(frame(), *args)

def test_not_a_dataframe(learn):
    "Other containers are refused with how to make a DataFrame of them (a pyarrow Table, a dict and a numpy array were refused with no hint)."
    import pyarrow as pa
    with pytest.raises(TabaeInputError, match='DataFrame'): fit(None)
    for f, o in ((encode, [[1, 2]]), (reconstruct, None), (evaluate, {'a': [1]})):
        with pytest.raises(TabaeInputError, match='DataFrame'): f(learn, o)
    hints = {'Table': r'convert it with `\.to_pandas\(\)`', 'dict': r'make one with `pd\.DataFrame\(d\)`', 'ndarray': r'make one with column names, `pd\.DataFrame\(a, columns=\[\.\.\.\]\)`'}
    for o in (pa.table(frame(4)), frame(4).to_dict('list'), frame(4).to_numpy()):
        hint = hints[type(o).__name__]
        with pytest.raises(TabaeInputError, match=rf"pandas DataFrame, got {type(o).__name__}: {hint}"): fit_autoencoder(o, ['a'], ['c'])
        with pytest.raises(TabaeInputError, match=rf"Expected a pandas DataFrame, got {type(o).__name__}: {hint}"): encode(learn, o)

def bad_conts():
    n = 160
    yield 'text', pd.Series(['1.5', 'x'] * (n // 2)), 'numeric'
    yield 'booleans', pd.Series([True, False] * (n // 2)), 'booleans'
    yield 'datetimes', pd.Series(pd.date_range('2020-01-01', periods=n)), 'dates'
    yield 'periods', pd.Series(pd.period_range('2020-01', periods=n, freq='M')), 'dates'  # was 'must be numeric'
    yield 'ordered', pd.Series(pd.Categorical(['lo', 'hi'] * (n // 2), categories=['lo', 'hi'], ordered=True)), r"an ordered categorical \('lo' < 'hi'\): take its ranks, `df\['c'\]\.cat\.codes\.where\(df\['c'\]\.notna\(\)\)`, or pass it in `cat_names`$"
    yield 'all NaN', pd.Series([np.nan] * n), 'no value in the 128 training rows.*no finite value'
    yield 'all inf', pd.Series([np.inf, -np.inf] * (n // 2)), 'no value in the 128 training rows.*no finite value'

@pytest.mark.parametrize('kind,col,msg', list(bad_conts()), ids=[o[0] for o in bad_conts()])
def test_bad_continuous_column_at_training(kind, col, msg):
    with pytest.raises(TabaeInputError, match=f"'c'.*{msg}"): fit(frame().assign(c=col))

@pytest.mark.parametrize('col,msg', [(['1.5', 'x'] * 25, r"must be numeric, got dtype \w+ with 25 row\(s\) of values that are not numbers, such as \['x'\].*`pd.to_numeric`$"),
                                     ([True, False] * 25, r"holds booleans, and the model was trained on numbers in it: .*`.astype\(float\)`"),
                                     (pd.date_range('2020-01-01', periods=50), r"holds dates or times \(dtype datetime64.*\), and the model was trained on numbers in it"),
                                     (pd.Categorical(['lo', 'hi'] * 25, categories=['lo', 'hi'], ordered=True), r"is an ordered categorical \('lo' < 'hi'\): take its ranks, `df\['c'\]\.cat\.codes\.where\(df\['c'\]\.notna\(\)\)`$")])
def test_bad_continuous_column_at_encode(learn, col, msg):
    "A column trained on numbers that holds text, booleans or dates at encode time is named, with why, and (it was trained as numbers) no hint to declare it categorical."
    with pytest.raises(TabaeInputError, match=f"Continuous column 'c' {msg}"): encode(learn, frame(50).assign(c=col))

def test_every_column_that_cannot_be_continuous_is_named_at_once(learn):
    "Two bad continuous columns are both named, each with its reason, in training and at encode time (the first was named alone, one per try)."
    both = r"2 columns cannot be continuous:\nContinuous column 'c' must be numeric.*\nContinuous column 'd' holds dates"
    bad = frame().assign(c=['1.5', 'x'] * 80, d=pd.date_range('2020-01-01', periods=160))
    with pytest.raises(TabaeInputError, match=both): fit(bad)
    with pytest.raises(TabaeInputError, match=both): encode(learn, bad)

def test_nullable_numbers_are_continuous_text_in_object_ones_is_not():
    df = frame()
    df['c'] = pd.array([None if np.isnan(v) else v for v in df.c], dtype='Float64')
    df['d'] = pd.array([int(v) for v in df.d], dtype='Int64')
    assert finite(encode(fit(df), df))
    with pytest.raises(TabaeInputError, match=r"'d' must be numeric, got dtype object with 1 row\(s\) of values that are not numbers, such as \['n/a'\].*to_numeric"):
        fit(df.assign(d=df.d.astype(object).where(df.index > 0, 'n/a')))
    with pytest.raises(TabaeInputError, match=r"'d' must be numeric, got dtype (str|object) with numbers written as text, such as \['"): fit(df.assign(d=df.d.astype(str)))
    with pytest.raises(TabaeInputError, match=r"'d' must be numeric, got dtype category with numbers as categories, such as \["): fit(df.assign(d=df.d.astype('category')))

def test_constant_column_stays_finite():
    df = frame().assign(d=7.)
    learn = fit(df)
    bounds = learn.model.cont_head[1]
    assert torch.isfinite(bounds.low).all() and torch.isfinite(bounds.high).all()
    assert finite(encode(learn, df)) and finite(encode(learn, df.assign(d=9.)))
    assert np.isfinite(reconstruct(learn, df).d).all()

def test_nan_and_inf_in_training():
    df = frame()
    df.loc[::7, 'd'] = np.inf
    df.loc[3::7, 'd'] = -np.inf
    learn = fit(df)
    assert 'd_na' in learn.dls.train_ds.cat_names  # inf is missing: flagged and filled like NaN
    codes = encode(learn, df)
    assert finite(codes)
    assert np.array_equal(codes.values, encode(learn, df.replace([np.inf, -np.inf], np.nan)).values)

def test_nan_and_inf_at_encode(learn):
    df = frame(60, seed=2)
    assert 'd_na' not in learn.dls.train_ds.cat_names  # training had no missing 'd'
    nan, inf = df.assign(d=np.nan), df.assign(d=[np.inf, -np.inf] * 30)
    assert finite(encode(learn, nan)) and np.array_equal(encode(learn, nan).values, encode(learn, inf).values)
    mean = first(p for p in learn.dls.train_ds.procs.fs if isinstance(p, Normalize)).means['d']
    assert np.array_equal(encode(learn, nan).values, encode(learn, df.assign(d=mean)).values)  # missing -> training mean
    gaps = df.assign(c=np.nan)  # 'c' had gaps in training: FillMissing's fill and its flag, not the mean
    fm, to = first(p for p in learn.dls.train_ds.procs.fs if isinstance(p, FillMissing)), learn.dls.train_ds
    cats, conts = process_frame(learn, gaps)
    norm = first(p for p in to.procs.fs if isinstance(p, Normalize))
    assert torch.allclose(conts[:, to.cont_names.index('c')], torch.tensor((fm.na_dict['c'] - norm.means['c']) / norm.stds['c'], dtype=torch.float32))
    assert (cats[:, to.cat_names.index('c_na')] == list(to.classes['c_na']).index(True)).all()

def test_values_past_float32_at_encode_are_named(learn):
    "A finite float64 that overflows float32 once normalized is refused, naming the column and rows, and the frame is left as it was."
    df = frame(30, seed=4).set_index(pd.RangeIndex(100, 130))
    df.loc[[103, 117], 'd'] = [1e300, -1e300]
    before = df.copy()
    with pytest.raises(TabaeInputError, match=r"\['d'\] hold values past float32's range.*'d': \[103, 117\]"): encode(learn, df)
    pd.testing.assert_frame_equal(df, before)

def test_columns_too_large_to_normalize_are_named():
    "Finite values so large that the training mean or std overflows float64 (every normalized value would be 0) are refused at fit, naming the column; the frame is left as it was."
    df = frame(60, seed=5)
    df['d'] = df['d'] * 1e300
    before = df.copy()
    with pytest.raises(TabaeInputError, match=r"\['d'\] are too large to normalize"): fit(df)
    pd.testing.assert_frame_equal(df, before)
    assert finite(encode(fit(df.assign(d=df['d'] / 1e300)), df.assign(d=df['d'] / 1e300)))  # rescaled, as the message says

@pytest.mark.parametrize('rank_gauss', [False, True])
def test_nan_only_in_validation_rows(rank_gauss):
    "A continuous column missing only in validation rows is processed there as `encode` processes the same rows: to 0, RankGauss or not."
    df = frame(40, seed=3)
    df['c'] = df.c.fillna(0.).abs() ** 3  # skewed: its mean and median map to different RankGauss values
    valid = RandomSplitter(0.2, seed=0)(range(len(df)))[1]
    df.loc[df.index[valid[:3]], 'c'] = np.nan
    learn = fit(df, rank_gauss=rank_gauss)
    assert finite(encode(learn, df))
    _, conts = process_frame(learn, df.iloc[valid], warn=False)
    torch.testing.assert_close(learn.dls.valid.conts, conts)
    assert (conts[:3, 0].abs() < 1e-6).all()

def test_unseen_categories(learn):
    df = frame(40, seed=4)
    with pytest.warns(UserWarning, match="'a'"): codes = encode(learn, df.assign(a='never seen'))
    for f in (encode, reconstruct, evaluate, lambda l, d: l.dls.test_dl(d), lambda l, d: l.predict(d.iloc[0]), process_frame):  # one warning, pointing at the caller's line
        with pytest.warns(UnseenCategoryWarning) as caught: f(learn, df.assign(a='never seen'))
        unseen = [w for w in caught if w.category is UnseenCategoryWarning]  # and an `InputShiftWarning` from 20 rows: every row unseen
        assert len(unseen) == 1 and unseen[0].filename == __file__, (f.__name__, unseen[0].filename)
    assert np.array_equal(codes.values, encode(learn, df.assign(a=np.nan)).values)
    with pytest.warns(UnseenCategoryWarning) as caught: encode(learn, df.assign(a=[f'{i} ' + 'free text ' * 100 for i in range(len(df))]))  # long free text: examples shortened
    msg = str(first(w for w in caught if w.category is UnseenCategoryWarning).message)
    assert len(msg) < 400 and "column 'a' in 40 row(s) (such as ['0 free text free text free text free te…', '1 free text" in msg

def test_a_warning_about_many_columns_stays_readable():
    "30 constant columns: the reasons of the first 5, the names of the next 20, a count of the rest; `columns` holds all 30 (25 columns of reasons made a 3,000-character line)."
    df = frame().assign(**{f'k{i}': 'same' for i in range(30)})
    with pytest.warns(UninformativeColumnWarning) as caught: fit_autoencoder(df, ['a'] + [f'k{i}' for i in range(30)], ['c'], **KW)
    w = [c.message for c in caught if c.category is UninformativeColumnWarning]
    assert len(w) == 1 and list(w[0].columns) == [f'k{i}' for i in range(30)]
    msg = str(w[0])
    assert msg.count("has one value ('same')") == 5 and "; also ['k5', 'k6'," in msg and "'k24'] and 5 more (the warning's `columns` says why for each)" in msg
    assert "'k25'" not in msg and len(msg) < 700

def test_a_column_of_many_classes_is_named():
    "A categorical column of 24,000 classes made the model 10x larger and its fit 10x slower, unwarned (its classes recur, so it is no identifier); more than 5,000 are named with their count, an identifier only as one."
    rng = np.random.default_rng(0)
    n = 30_000
    df = pd.DataFrame({'many': [f'z{v}' for v in rng.integers(0, 8_000, n)], 'some': [f's{v}' for v in rng.integers(0, 5_000, n)], 'id': [f'i{v}' for v in range(n)], 'x': rng.normal(size=n)})
    with pytest.warns(ManyClassesWarning) as caught: ae_data(df, ['many', 'some', 'id'], ['x'], valid_pct=0.2, seed=0)
    w = [c for c in caught if c.category is ManyClassesWarning]
    train = df['many'].iloc[RandomSplitter(0.2, seed=0)(df)[0]]
    assert len(w) == 1 and w[0].filename == __file__ and list(w[0].message.columns) == ['many']
    assert f"'many' has {train.nunique():,} classes in the training rows. Group the rare classes" in str(w[0].message)
    assert [list(c.message.columns) for c in caught if c.category is UninformativeColumnWarning] == [['id']]

def test_a_nearly_unique_category_is_named_as_an_identifier():
    "A categorical column with a value no other training row has in 90% or more of the rows (titles, free text) is warned about as an identifier (only all-distinct ones were)."
    titles = [f't{i}' for i in range(150)] + ['t0'] * 5 + [np.nan] * 5
    with pytest.warns(UninformativeColumnWarning, match=r"'title' has a category no other training row has in 9\d% of the 128 training rows \(an identifier or free text"):
        fit_autoencoder(frame().assign(title=titles), ['a', 'title'], ['c'], **KW)

def test_row_numbers_among_the_numbers_are_named_as_an_identifier():
    "A continuous column of distinct whole numbers packed as row numbers are (an id, a policy number read from zero-padded text, the row numbers of a sample) is warned about; a sparse nearly-unique one (Adult's fnlwgt), measurements and a column with a repeat are not."
    rng = np.random.default_rng(0)
    df = frame().assign(row=np.arange(1000, 1160), policy=rng.permutation(160) * 1. + 7, sampled=rng.choice(600, 160, replace=False) + 1,  # row numbers of a 160-row sample of 600
                        sparse=rng.choice(10**6, 160, replace=False), twice=np.r_[np.arange(159), 0], x=rng.normal(size=160))
    with pytest.warns(UninformativeColumnWarning) as caught: fit_autoencoder(df, ['a'], ['c', 'row', 'policy', 'sampled', 'sparse', 'twice', 'x'], **KW)
    w = [c.message for c in caught if c.category is UninformativeColumnWarning]
    assert len(w) == 1 and list(w[0].columns) == ['row', 'policy', 'sampled']
    assert re.search(r"'row' has a different whole number in each of the 128 training rows, 10\d\d to 11\d\d \(row numbers or an identifier\?", str(w[0]))

DAYS = pd.Series(pd.Timestamp('2020-01-01') + pd.to_timedelta(np.arange(160) % 40, 'D'))

def dated():
    yield 'datetime64', DAYS
    yield 'tz-aware', DAYS.dt.tz_localize('UTC')
    yield 'Python dates', DAYS.dt.date.astype(object)
    yield 'periods', DAYS.dt.to_period('D')
    yield 'categorical', DAYS.astype('category')
    yield 'Arrow', DAYS.astype('timestamp[us][pyarrow]')

@pytest.mark.parametrize('kind,col', list(dated()), ids=[o[0] for o in dated()])
def test_dates_as_categories_are_named(kind, col):
    "A categorical column of dates (what `infer_columns` makes of a datetime column) makes every date a class, so later dates are all unseen: warned of, with fastai's `add_datepart`; the same dates as text too, as a CSV holds them (`read_table`, `tabae fit` and `from_csv` gave none); text that only looks like one (a year and a number) is not."
    for d in (col, col.astype(str), col.astype(str).astype('category')):
        with pytest.warns(UninformativeColumnWarning, match=r"'d' has dates as 40 categories \(a date after training is unseen.*add_datepart\(df, 'd'\)") as caught:
            fit_autoencoder(frame().assign(d=d), ['a', 'd'], ['c'], **KW)
        assert [list(w.message.columns) for w in caught if w.category is UninformativeColumnWarning] == [['d']]
    with warnings.catch_warnings():
        warnings.simplefilter('error', UninformativeColumnWarning)
        fit_autoencoder(frame().assign(d=[f'2020-{i % 3}' for i in range(160)]), ['a', 'd'], ['c'], **KW)

@pytest.mark.parametrize('col', [pd.Series(pd.to_timedelta(np.arange(160) % 3, 'h')), pd.Series([datetime.time(1, i % 3) for i in range(160)])], ids=['durations', 'times of day'])
def test_durations_and_times_of_day_are_categories_that_recur(col):
    "Durations and times of day recur (and `add_datepart` takes neither): not warned of as dates."
    with warnings.catch_warnings():
        warnings.simplefilter('error', UninformativeColumnWarning)
        fit_autoencoder(frame().assign(d=col), ['a', 'd'], ['c'], **KW)

def test_an_extreme_training_value_is_named(adult_df):
    "A value 40+ standard deviations of the other rows out (it wrecked the rebuilds in benchmarks/extreme_values.py) is named with where the rows lie, at the caller's line, in a table of any size (the first measure could not reach 40 under 1,601 rows); not with `rank_gauss`, not on Adult."
    df = adult_df.iloc[:500].copy()
    df.loc[df.index[3], 'age'] = 1e6
    rest = df.age.iloc[:400].drop(df.index[3])
    cats, conts = adult_columns('adult-9')
    with pytest.warns(ExtremeValueWarning) as caught: fit_autoencoder(df, cats, conts, valid_idx=list(range(400, 500)), **KW)
    w = [c for c in caught if c.category is ExtremeValueWarning]
    assert len(w) == 1 and w[0].filename == __file__ and list(w[0].message.columns) == ['age']
    lo, hi = np.quantile(df.age.iloc[:400], [0.005, 0.995])
    want = f"'age' has 1e+06, {abs(1e6 - rest.mean()) / rest.std(ddof=0):.0f} standard deviations of the other rows from their mean (99% of the rows lie in [{lo:.6g}, {hi:.6g}])"
    assert want in str(w[0].message) and str(w[0].message).endswith("Try `rank_gauss=True` (it keeps the values' order, not their scale: right for heavy tails such as money), or drop or clip such rows if they are errors")
    assert pickle.loads(pickle.dumps(w[0].message)).columns == w[0].message.columns
    with warnings.catch_warnings():
        warnings.simplefilter('error', ExtremeValueWarning)
        fit_autoencoder(df, cats, conts, rank_gauss=True, **KW)
        fit_autoencoder(adult_df, *adult_columns('adult-14'), **KW)

def test_one_value_apart_from_equal_rows_gives_no_numpy_warning():
    "A column whose other training rows all hold one value gives no 'divide by zero' from the extreme-value measure (it is not measured)."
    df = frame().assign(flag=0.)
    df.loc[df.index[7], 'flag'] = 1.
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        warnings.simplefilter('error', ExtremeValueWarning)
        ae_data(df, ['a'], ['c', 'flag'], valid_idx=list(range(100, 160)), bs=32)  # row 7 in training

def test_uninformative_columns_are_named_in_one_warning():
    "A column with one value in every training row (missing counts as a value), a categorical one with a different value in each and row numbers are named, with why, at the caller's line; the fit goes on."
    df = frame().assign(k='same', z=0., id=[f'r{i}' for i in range(160)], gap=np.nan, idnum=np.arange(160.))
    df.loc[df.index[::2], 'gap'] = 1.  # a value or missing: not constant
    with pytest.warns(UninformativeColumnWarning) as caught: learn = fit_autoencoder(df, ['a', 'k', 'id'], ['c', 'z', 'gap', 'idnum'], **KW)
    w = [c for c in caught if c.category is UninformativeColumnWarning]
    assert len(w) == 1 and w[0].filename == __file__ and list(w[0].message.columns) == ['k', 'id', 'z', 'idnum']
    msg = str(w[0].message)
    assert "'k' has one value ('same') in all 128 training rows" in msg and "'z' has one value (0.0) in all 128" in msg
    assert "'id' has a different category in each of the 128 training rows" in msg and finite(encode(learn, df))
    back = pickle.loads(pickle.dumps(w[0].message))  # as a warning raised as an error in a worker process comes back
    assert str(back) == msg and back.columns == w[0].message.columns
    from sklearn.pipeline import make_pipeline
    with pytest.warns(UninformativeColumnWarning) as caught:  # through scikit-learn: still the user's line
        make_pipeline(TabularAEEncoder(cat_names=['a', 'k'], cont_names=['c'], code_size=4, layers=[8], epochs=1, progress=False)).fit(df)
    assert [w.filename for w in caught if w.category is UninformativeColumnWarning] == [__file__]
    from sklearn.model_selection import cross_validate
    with pytest.warns(UninformativeColumnWarning) as caught:  # through scikit-learn's joblib (one process): the user's line too, not joblib's
        cross_validate(TabularAEEncoder(cat_names=['a', 'k'], cont_names=['c'], code_size=4, layers=[8], epochs=1, progress=False), df, cv=2, scoring=lambda est, X, y=None: 0.0)
    assert {w.filename for w in caught if w.category is UninformativeColumnWarning} == {__file__}
    with warnings.catch_warnings():
        warnings.simplefilter('error', UninformativeColumnWarning)
        fit_autoencoder(df.iloc[:20], ['a', 'id'], ['c'], **{**KW, 'bs': 8})  # 16 training rows: too few to call all-distinct an identifier
        fit_autoencoder(df.assign(id=[f'r{i // 6}' for i in range(160)]), ['a', 'id'], ['c'], **KW)  # six rows a category: a grouping, not an identifier
        fit_autoencoder(df.assign(k=['same'] * 159 + [np.nan]), ['a', 'k'], ['c'], valid_idx=[0], **KW)  # a gap in training: two values

def cat_kinds(n=160):
    r = np.random.default_rng(5)
    ints = r.integers(0, 3, n)
    yield 'category', pd.Categorical(np.array(['x', 'y', 'z'])[ints], categories=['z', 'y', 'x', 'unused'])
    yield 'int', ints
    yield 'bool', ints > 0
    yield 'nullable', pd.array([None if i == 0 else i for i in ints], dtype='Int64')
    yield 'mixed', pd.Series([[1, 'x', 2.5][i] for i in ints], dtype=object)
    yield 'datetime', pd.to_datetime(ints, unit='D')

@pytest.mark.parametrize('kind,col', list(cat_kinds()), ids=[o[0] for o in cat_kinds()])
def test_categorical_dtypes(kind, col):
    df = frame().assign(a=col)
    learn = fit(df)
    codes = encode(learn, df)
    assert finite(codes) and codes.shape == (len(df), 8)
    # categories are matched by value, whatever dtype the encoded frame gives them
    as_cat = df.assign(a=pd.Categorical(df.a, categories=pd.Categorical(df.a).categories[::-1]))
    assert np.array_equal(encode(learn, as_cat).values, codes.values)
    assert np.array_equal(encode(learn, df.assign(a=df.a.astype(object))).values, codes.values)
    assert set(reconstruct(learn, df).a.dropna()) <= set(learn.dls.train_ds.classes['a'][1:])  # classes, or missing for '#na#'

def test_category_subset_at_encode_matches_values(learn):
    "A `category` column whose categories differ from training's is matched by value, not by its own codes."
    df = frame(60, seed=6)
    sub = df[df.a != 'x']
    got = encode(learn, sub.assign(a=pd.Categorical(sub.a)))  # categories ['y', 'z'] only
    assert np.array_equal(got.values, encode(learn, df).loc[sub.index].values)

def test_mixed_column_is_text_at_fit_and_encode():
    df = frame().assign(a=pd.Series([1, 'x', 2.5, True] * 40, dtype=object))
    learn = fit(df)
    assert list(learn.dls.train_ds.classes['a']) == ['#na#', '1', '2.5', 'True', 'x']
    assert np.array_equal(encode(learn, df).values, encode(learn, df.assign(a=df.a.map(str))).values)

def test_empty_and_tiny_frames(learn):
    df = frame(10)
    with pytest.raises(TabaeInputError, match='at least 1 row'): fit(df.iloc[:0])
    with pytest.raises(TabaeInputError, match=r'validation split of 1 row\(s\) is empty.*valid_pct'): fit(df.iloc[:1])
    with pytest.raises(TabaeInputError, match='valid_pct'): fit(df.iloc[:3])
    with pytest.raises(TabaeInputError, match='at least 2 rows'): fit(df.iloc[:1], valid_pct=0)
    small = fit(df.iloc[:6], valid_pct=0, bs=1024)  # fewer rows than the batch size
    assert finite(encode(small, df))
    empty = encode(learn, df.iloc[:0])
    assert empty.shape == (0, 8) and list(reconstruct(learn, df.iloc[:0]).columns) == ['a', 'b', 'c', 'd']
    with pytest.raises(TabaeInputError, match='at least 1 row'): evaluate(learn, df.iloc[:0])
    one = encode(learn, df.iloc[[4]])
    assert one.shape == (1, 8) and np.allclose(one.values, encode(learn, df).values[[4]], atol=1e-5)
    assert evaluate(learn, df.iloc[[4]]).summary['rows'] == 1

@pytest.mark.parametrize('index', [[5] * 160, list(range(1000, 1160))[::-1], [f'r{i}' for i in range(160)]],
                         ids=['duplicated', 'reversed', 'strings'])
def test_index_is_kept_and_irrelevant(learn, index):
    df = frame()
    odd = df.set_axis(pd.Index(index))
    assert np.array_equal(encode(fit(odd), odd).values, encode(learn, df).values)  # `learn` is `fit(frame())`, seeded
    codes = encode(learn, odd)
    assert codes.index.equals(odd.index) and np.array_equal(codes.values, encode(learn, df).values)
    assert reconstruct(learn, odd).index.equals(odd.index)
    assert evaluate(learn, odd).summary.equals(evaluate(learn, df).summary)

def test_space_and_unicode_names():
    df = frame().rename(columns={'a': 'ville natale', 'b': '年齢', 'c': 'größe (cm)', 'd': 'd d'})
    learn = fit(df, cats=['ville natale', '年齢'], conts=['größe (cm)', 'd d'])
    assert finite(encode(learn, df)) and list(reconstruct(learn, df).columns) == ['ville natale', '年齢', 'größe (cm)', 'd d']

def test_unknown_arguments_and_bad_epochs_are_named():
    "A misspelt keyword names itself and the functions it went to (not fastai's `Learner.__init__`); `epochs` must be a positive int and `lr` a positive number; `adult`'s own arguments are checked."
    with pytest.raises(TypeError, match=r"\['lrr'\] for `ae_learner`/`fit_autoencoder`.*moms"): fit(frame(), lrr=1e-3)
    with pytest.raises(TypeError, match=r"\['bogus'\]"): TabularAEEncoder(fit_kwargs={'bogus': 1}).fit(frame())
    with pytest.raises(TypeError, match=r"`loss_func`: `ae_learner` builds its `RecreatedLoss`.*set `learn.loss_func`"): fit(frame(), loss_func=torch.nn.MSELoss())  # it said fastai's `Learner` has no `loss_func`
    for bad in (dict(amp_mode='bf16'), dict(dtype='bf16')):  # ignored; failed at the first batch (fastai's `MixedPrecision('bf16')` takes it first)
        with pytest.raises(TabaeInputError, match=r"`AutoMixedPrecision` picks the dtype.*dtype=torch.bfloat16.*got 'bf16'"): AutoMixedPrecision(**bad)
    for epochs in (0, -1, 2.5, True):
        with pytest.raises(TabaeInputError, match='`epochs` must be a positive int'): fit(frame(), epochs=epochs)
    assert len(fit(frame(), epochs=np.int64(2)).recorder.values) == 2  # numpy ints too, e.g. from a parameter grid
    for lr in (0, -1e-3, '1e-3', True):
        with pytest.raises(TabaeInputError, match='`lr` must be a positive number'): fit(frame(), lr=lr)
    with pytest.raises(TabaeInputError, match='`split`'): adult('tset')
    with pytest.raises(TabaeInputError, match='`columns`'): adult_columns('adult-15')

@pytest.mark.parametrize('kw,match', [
    (dict(patience=0), '`patience` must be a positive int, got 0'), (dict(patience=-3), '`patience` must be a positive int'),
    (dict(bound_pad=-1.), '`bound_pad` must be a number >= 0, got -1.0'), (dict(class_balance=-1), '`class_balance` must be a number >= 0'),
    (dict(wd=-1e-2), '`wd` must be a number >= 0'), (dict(wd=float('nan')), '`wd` must be a number >= 0, got nan'),
    (dict(anneal_noise=2), r'`anneal_noise` must be None or a fraction of the fit in \[0, 1\]'), (dict(anneal_noise=-1.), '`anneal_noise`'),
    (dict(track_from=5), r'`track_from` must be None or a fraction of the fit in \[0, 1\]'),
    (dict(emb_szs={'nope': 3}), r"`emb_szs` names \['nope'\], which are not categorical columns of the data \(\['a', 'b', 'c_na'\]\)"),
    (dict(emb_szs={'a': 0}), r"`emb_szs` sizes must be positive ints, got \{'a': 0\}"), (dict(emb_szs=[3]), '`emb_szs` must be a dict'),
    (dict(valid_pct='0.2'), r"`valid_pct` must be in \[0, 1\), got '0.2'"),
])
def test_out_of_range_training_arguments_are_named(kw, match):
    "Arguments that used to train silently into a useless model (a negative `bound_pad` inverts the output range, `patience=0` stops on a new best) or fail deep inside are named."
    df = frame()
    with pytest.raises(TabaeInputError, match=match): fit(df, **kw)
    assert df.equals(frame())

def test_procs_without_categorify_or_normalize_are_named(adult_df):
    "Without `Categorify` categorical columns cannot be embedded (it failed inside pandas); without `Normalize` Adult's large numbers drove the loss to NaN and training went on, giving codes of NaN."
    cats, conts = adult_columns('adult-14')
    kw = dict(code_size=8, layers=[32, 16], epochs=2, progress=False)
    for procs in ([], [FillMissing, Normalize]):
        with pytest.raises(TabaeInputError, match=r"`procs` must include `Categorify` when there are categorical columns .*: \['workclass', 'education'"):
            fit_autoencoder(adult_df.iloc[:500], cats, conts, procs=procs, **kw)
    with pytest.raises(TabaeInputError, match=r"The training loss became nan in epoch 0.* \{'fnlwgt': '1.\d+e\+06'.*which have no `Normalize`: add it to `procs`"):
        fit_autoencoder(adult_df.iloc[:2000], cats, conts, procs=[Categorify, FillMissing], **kw)
    assert finite(encode(fit_autoencoder(adult_df.iloc[:500], [], ['age', 'hours-per-week'], procs=[FillMissing], **kw), adult_df.iloc[:50]))  # small numbers train unnormalized
    gaps = adult_df.iloc[:500].reset_index(drop=True)
    gaps.loc[::7, 'age'] = np.nan  # FillMissing adds the categorical column age_na
    with pytest.raises(TabaeInputError, match=r"`procs` must include `Categorify` .*: \['age_na'\] \(\['age_na'\] added by `FillMissing` for continuous columns with gaps; `FillMissing\(add_col=False\)` adds none\)"):
        fit_autoencoder(gaps, [], ['age', 'hours-per-week'], procs=[FillMissing, Normalize], **kw)

@pytest.mark.parametrize('mixed_precision', [True, False])
def test_a_diverging_fit_blames_the_learning_rate_when_normalized(adult_df, mixed_precision, monkeypatch):
    "With `Normalize` in the procs a NaN loss is the learning rate's doing, whatever outlier a column has; mixed precision is named only when it is on."
    monkeypatch.setattr(sys.modules['tabae.precision'], 'amp_dtype', lambda device=None: torch.bfloat16)  # bf16 autocast on any CPU: the same expectation on every machine
    df = adult_df.iloc[:1500].reset_index(drop=True).assign(out=0.)
    df.loc[0, 'out'] = 1e6  # about 35 after Normalize: large, but normalized
    amp = ", or turn `mixed_precision` off" if mixed_precision else ""
    with pytest.raises(TabaeInputError, match=rf"The training loss became (nan|inf|-inf) in epoch 0, batch \d+: lower `lr`{re.escape(amp)}$"):
        fit_autoencoder(df, ['race'], ['age', 'out'], lr=1e4, mixed_precision=mixed_precision, valid_pct=0., bin_targets=0, clip_inputs=False,
                        code_size=4, layers=[16], epochs=2, progress=False)

class NanAt(Callback):
    "Make the loss to train on NaN from batch `at` of the fit on."
    def __init__(self, at:int): self.at = at
    def after_loss(self):
        if self.training and self.train_iter >= self.at: self.learn.loss_grad = self.learn.loss_grad * float('nan')

def test_a_nan_loss_ends_an_lr_sweep_but_stops_a_fit(tmp_path, monkeypatch):
    "`lr_find` treats a NaN loss as the divergence it stops at and suggests from the batches before it; a fit stops with a `TabaeInputError`."
    monkeypatch.chdir(tmp_path)  # `lr_find` saves and restores the weights under the learner's path
    learn = ae_learner(ae_data(frame(), ['a', 'b'], ['c', 'd'], bs=16), code_size=4, layers=[8])
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    with learn.no_bar(), learn.no_logging(), learn.added_cbs(NanAt(20)): res = learn.lr_find(show_plot=False, num_it=40)
    assert len(learn.recorder.losses) == 20 and np.isfinite(res.valley) and all(torch.equal(v, learn.model.state_dict()[k]) for k, v in before.items())
    with pytest.raises(TabaeInputError, match=r"The training loss became nan in epoch 0, batch 3: lower `lr`"):
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=NanAt(3))
    with pytest.raises(TabaeInputError, match=r"batch 0: lower `lr`"):  # no finite loss to suggest from: an error, not fastai's IndexError
        with learn.no_bar(), learn.no_logging(), learn.added_cbs(NanAt(0)): learn.lr_find(show_plot=False, num_it=10)
    with torch.no_grad(): next(learn.model.parameters()).fill_(float('nan'))  # as after a step that diverged
    with pytest.raises(TabaeInputError, match=r"batch 0: the weights are no longer finite .*build a new learner or load saved weights, then lower `lr`"):
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    for f in (encode, reconstruct):  # codes of NaN weights were NaN, silently
        with pytest.raises(TabaeInputError, match=r"The model's weights are not finite \(a fit diverged\)"): f(learn, frame())

def test_python_numbers_in_object_columns_are_continuous():
    "Ints and floats held as Python objects with None for gaps (a JSON or database round trip) train and encode as the float column they stand for; Decimals too."
    import decimal
    df = frame()
    as_objects = df.assign(c=df.c.astype(object).where(df.c.notna(), None), d=df.d.round().astype(int).astype(object))
    as_objects.loc[as_objects.index[:2], 'd'] = None
    as_floats = as_objects.assign(c=df.c, d=pd.to_numeric(as_objects.d))
    assert as_objects.c.dtype == as_objects.d.dtype == object and as_floats.d.dtype == np.float64
    a, b = fit(as_objects), fit(as_floats)
    assert np.array_equal(encode(a, as_objects).to_numpy(), encode(b, as_floats).to_numpy())
    dec = as_floats.assign(d=[None if pd.isna(v) else decimal.Decimal(str(v)) for v in as_floats.d])
    assert np.array_equal(encode(b, dec).to_numpy(), encode(b, as_floats).to_numpy())
    assert evaluate(b, as_objects).continuous.r2.equals(evaluate(b, as_floats).continuous.r2)
    huge = as_floats.assign(d=[2 ** 70] + [None] * 159).astype({'d': object})  # past int64: `pd.to_numeric` leaves it as objects
    assert np.array_equal(encode(b, huge).to_numpy(), encode(b, huge.astype({'d': float})).to_numpy())
    no_gap = as_floats.assign(d=[2 ** 70] + [5] * 159).astype({'d': object})  # and without a gap, which `pd.to_numeric` also leaves as objects
    assert np.array_equal(encode(b, no_gap).to_numpy(), encode(b, no_gap.astype({'d': float})).to_numpy())

def test_a_seeded_fit_leaves_the_callers_random_streams_alone():
    "Seeding makes the fit repeatable without resetting `random`, numpy and torch for the caller: a resampling loop around fits draws new samples."
    import random
    def draws(): return random.random(), np.random.rand(), torch.rand(1).item()
    random.seed(1); np.random.seed(1); torch.manual_seed(1)
    expected = draws(), draws()
    random.seed(1); np.random.seed(1); torch.manual_seed(1)
    flags = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, True
    first = draws(); a = fit(frame()); second = draws()
    b = fit(frame(), seed=np.int64(0))
    assert (first, second) == expected and (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == flags
    assert np.array_equal(encode(a, frame()).to_numpy(), encode(b, frame()).to_numpy())

def test_numpy_hyperparameters_fit_save_and_load(tmp_path):
    "Sizes and rates as numpy scalars (a parameter grid's `np.arange`/`np.linspace`) build, train, save as JSON and load as plain ints and floats; bools are not sizes."
    learn = fit(frame(), code_size=np.int64(3), layers=list(np.array([8, 4])), swap_p=np.float32(0.2), ps=(np.float32(0.1), 0.), bin_targets=np.int64(4))
    m = learn.model
    assert m.code_size == 3 and type(m.code_size) is int and type(m.noise.p) is float and np.isclose(m.noise.p, 0.2)
    assert [b[0].out_features for b in m.layers[:-1]] == [8, 4] and m.n_bins == 4
    back = load_encoder(save_encoder(learn, tmp_path / 'enc'))
    assert np.allclose(encode(back, frame()), encode(learn, frame()), atol=1e-2)
    assert TabularAEEncoder(code_size=np.int64(3), layers=(np.int64(8),), epochs=1, progress=False).fit(frame()).transform(frame()).shape == (160, 3)
    with pytest.raises(TabaeInputError, match='`code_size` must be a positive int'): fit(frame(), code_size=True)
    with pytest.raises(TabaeInputError, match='`layers`'): fit(frame(), layers=[8, True])
    with pytest.raises(TabaeInputError, match='`swap_p`'): fit(frame(), swap_p=False)
    with pytest.raises(TabaeInputError, match='`bs` must be a positive int'): encode(learn, frame(), bs=True)

def test_column_lists_and_positions_of_any_array_type():
    "`cat_names`/`cont_names` as a pandas Index or numpy array, `valid_idx` as an array, range or tensor, and numpy `seed`, `wd`, `layers`, per-column `swap_p` and `bin_inputs` all work; a non-int seed and two-level column names are named."
    df = frame()
    ref = fit(df, valid_idx=list(range(120, 160)))
    for valid_idx in (np.arange(120, 160), pd.RangeIndex(120, 160), torch.arange(120, 160)):
        learn = fit(df, cats=pd.Index(['a', 'b']), conts=np.array(['c', 'd']), valid_idx=valid_idx)
        assert list(learn.dls.valid_ds.items.index) == list(range(120, 160))
        assert np.allclose(encode(learn, df), encode(ref, df))
    learn = fit(df, seed=np.int32(1), layers=np.array([8, 4]), ps=np.array([0.1, 0.]), swap_p=np.full(5, 0.1), bin_inputs=np.True_,  # 5 inputs: a, b, c_na, c, d
                wd=np.float32(0.01), lr=slice(np.float32(1e-4), np.float32(1e-3)))
    m = TabularAE([(3, 2)], 2, 4, layers=[8, 4], ps=np.array([0.1, 0.2]), swap_p=np.array(0.3))  # the mirrored decoder takes `ps` in reverse
    assert [[o.p for o in b if isinstance(o, torch.nn.Dropout)] for b in m.decoder] == [[0.2], [0.1]] and m.noise.p == 0.3
    assert len(fit(df, valid_idx=torch.tensor(3)).dls.valid_ds) == 1  # a 0-d tensor is one position
    with pytest.raises(TabaeInputError, match='`lr` must be a positive number'): fit(df, lr=[1e-3, 0])
    assert learn.model.bin_inputs is True and np.isclose(learn.wd, 0.01) and type(learn.wd) is float
    assert np.allclose(encode(fit(df, seed=np.int64(1)), df), encode(fit(df, seed=1), df))
    with pytest.raises(TabaeInputError, match='`seed` must be an int or None'): fit(df, seed=1.5)
    two = df.set_axis(pd.MultiIndex.from_tuples([('x', c) for c in df.columns]), axis=1)
    with pytest.raises(TabaeInputError, match='2 levels of column names: flatten'): fit_autoencoder(two, [('x', 'a')], [('x', 'c')])
    with pytest.raises(TabaeInputError, match='2 levels of column names'): encode(ref, two)

def test_float_categories_keep_their_values():
    "Float categories are not shrunk to float32 before `Categorify`: 0.1 is matched by itself, IDs past 2**24 stay apart, and large numbers are not rounded before `Normalize`."
    r = np.random.default_rng(0)
    df = pd.DataFrame({'c': r.choice([0.1, 0.2, 0.3], 300), 'id': r.choice([16777216., 16777217., np.nan], 300), 'x': 1e8 + r.integers(0, 10, 300)})
    learn = fit(df, cats=['c', 'id'], conts=['x'])
    assert len(learn.dls.train_ds.classes['id']) == 3 and 0.1 in list(learn.dls.train_ds.classes['c'])
    with warnings.catch_warnings():
        warnings.simplefilter('error', UnseenCategoryWarning)
        encode(learn, df)
    std = learn.dls.train_ds.procs.normalize.stds['x']
    assert abs(std - df.x.iloc[list(learn.dls.train.items.index)].std(ddof=0)) < 0.05  # float32 rounds 1e8 + k to multiples of 8

def test_whole_floats_match_text_classes_and_are_scored_as_them():
    "A text column read back as floats ('1' as 1.0: a CSV chunk, a column with a gap) is matched and scored as its text classes; a number column scored as floats or text matches its int classes."
    r = np.random.default_rng(0)
    df = pd.DataFrame({'code': r.choice(['1', '2', 'X'], 400), 'k': r.integers(0, 3, 400), 'x': r.normal(size=400)})
    learn = fit(df, cats=['code', 'k'], conts=['x'], epochs=2)
    read = df[df.code != 'X'].assign(code=lambda d: d.code.astype(float), k=lambda d: d.k.astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter('error', UnseenCategoryWarning)
        assert np.allclose(encode(learn, read), encode(learn, df[df.code != 'X']))
        assert evaluate(learn, read).categorical.equals(evaluate(learn, df[df.code != 'X']).categorical)
    with warnings.catch_warnings():
        warnings.simplefilter('error', UnseenCategoryWarning)
        as_text = evaluate(learn, df.assign(k=df.k.astype(str)))  # text '1' is int class 1 (it was unseen in every row, and scored 0)
    assert as_text.categorical.equals(evaluate(learn, df).categorical) and as_text.actual['code'].equals(evaluate(learn, df).actual['code'])
    assert as_text.categorical.loc['code', 'balanced_accuracy'] == balanced_accuracy_score(df['code'], as_text.predicted['code'])  # each scored on its own rebuilds
    one = pd.DataFrame([{**df.iloc[0].to_dict(), 'x': pd.NA}])  # an object column of pd.NA, as `encode` takes it
    rep = evaluate(learn, one)
    assert np.isnan(rep.continuous.loc['x', 'mean_abs_err']) and rep.categorical.notna().all().all()  # the gap is not scored, the categories are

def test_one_kind_of_column_and_huge_numbers_fit_without_library_warnings():
    "Tables with only categorical or only continuous columns build empty heads without torch's zero-element warning; a column too large to normalize is named without numpy's overflow warning first."
    df = frame()
    with warnings.catch_warnings():
        for category in (UserWarning, RuntimeWarning): warnings.filterwarnings('error', category=category)
        for cats, conts in ((['a', 'b'], []), ([], ['c', 'd'])): assert finite(encode(fit_autoencoder(df, cats, conts, **KW), df))  # not `fit`: it ignores warnings
        with pytest.raises(TabaeInputError, match='too large to normalize'): fit_autoencoder(df.assign(d=df.d * 1e200), ['a', 'b'], ['c', 'd'], **KW)

def test_bad_column_lists(learn):
    df = frame()
    with pytest.raises(TabaeInputError, match='No columns to learn from'): fit(df, cats=[], conts=[])
    with pytest.raises(TabaeInputError, match=r"\['c'\].*more than once"): fit(df, cats=['a', 'c'], conts=['c'])
    with pytest.raises(TabaeInputError, match=r"\['a'\].*more than once in the DataFrame"): fit(pd.concat([df, df[['a']]], axis=1))
    twice = pd.concat([df, df[['d']] + 100], axis=1)  # at encode time too (an AttributeError inside pandas)
    for f in (encode, reconstruct, evaluate, lambda l, d: l.dls.test_dl(d)):
        with pytest.raises(TabaeInputError, match=r"\['d'\].*more than once in the DataFrame"): f(learn, twice)
    with pytest.raises(TabaeInputError, match='c_na'): fit(df.assign(c_na=1), cats=['a', 'c_na'])
    flag = df.rename(columns={'a': True, 'c': 1})  # True == 1 to Python and pandas: named as a boolean, not as a repeat
    with pytest.raises(TabaeInputError, match=r"Column name\(s\) \[True\] are booleans"): fit(flag, cats=[True], conts=[1, 'd'])

@pytest.mark.parametrize('col', [np.nan, None, pd.NA], ids=['nan', 'None', 'NA'])
def test_all_missing_categorical_column_is_refused(col):
    "A categorical column with no value in the training rows (before: trained on, then `evaluate` failed with an IndexError) is named; the frame is untouched."
    df = frame().assign(e=col)
    before = df.copy()
    with pytest.raises(TabaeInputError, match=r"\['e'\].*no value in the \d+ training rows"): fit(df, cats=['a', 'b', 'e'])
    pd.testing.assert_frame_equal(df, before)
    some = df.assign(e=np.where(df.index % 10 == 0, 'x', None))  # a few values are enough
    assert np.isfinite(evaluate(fit(some, cats=['a', 'b', 'e']), some).summary.mean_balanced_accuracy)
    late = frame().assign(e=np.where(np.arange(160) < 120, None, 'x'))  # values in validation rows only
    with pytest.raises(TabaeInputError, match=r"\['e'\].*no value in the 120 training rows"): fit(late, cats=['a', 'b', 'e'], valid_idx=range(120, 160))

def test_every_column_without_a_training_value_is_named_at_once():
    "Categorical and continuous columns with nothing to learn from are named in one error (a continuous one was named alone, one per try)."
    with pytest.raises(TabaeInputError, match=r"\['e', 'c', 'd'\] have no value in the 128 training rows"): fit(frame().assign(e=None, c=np.nan, d=np.inf), cats=['a', 'b', 'e'])

def test_tuple_column_names_are_refused():
    "Tuple names (before: a pandas error from inside fastai about MultiIndex levels) are named with a way to flatten them."
    df = frame().rename(columns={'a': ('x', 'a')})
    with pytest.raises(TabaeInputError, match=r"\('x', 'a'\).*tuples"): fit(df, cats=[('x', 'a'), 'b'])

@pytest.mark.parametrize('dtype', [object, 'string', 'category'])
def test_literal_na_category_is_refused(dtype):
    "A '#na#' value would merge with fastai's missing-value class (before: two '#na#' classes, rows of either rebuilt as one)."
    df = frame()
    df['a'] = df['a'].where(df.index % 7 != 0, '#na#').astype(dtype)
    before = df.copy()
    with pytest.raises(TabaeInputError, match=r"\['a'\].*'#na#'.*replace"): fit(df)
    pd.testing.assert_frame_equal(df, before)
    assert fit(df.assign(a=df['a'].astype(object).replace('#na#', 'na'))).dls.train_ds.classes['a'] == ['#na#', 'na', 'x', 'y', 'z']

@pytest.mark.parametrize('kw,name', [
    ({'code_size': 0}, 'code_size'), ({'code_size': 2.5}, 'code_size'), ({'code_size': True}, 'code_size'),
    ({'layers': []}, 'layers'), ({'layers': [32, 0]}, 'layers'), ({'layers': 'abc'}, 'layers'),
    ({'ps': 1.}, 'ps'), ({'ps': -0.1}, 'ps'), ({'ps': [0.1]}, 'ps'), ({'ps': (0.1, 0.1, 0.1)}, 'ps'),
    ({'swap_p': 1.5}, 'swap_p'), ({'swap_p': -0.1}, 'swap_p'), ({'swap_p': [0.1, 0.2]}, 'swap_p'), ({'swap_p': float('nan')}, 'swap_p'),
    ({'enc_ps': [0.1, 1.]}, 'enc_ps'), ({'embed_p': -0.1}, 'embed_p'), ({'head_p': 1.}, 'head_p'), ({'code_p': float('nan')}, 'code_p')])
def test_arguments_out_of_range_are_named(kw, name):
    dls = ae_data(frame(40), ['a', 'b'], ['c', 'd'], bs=16)
    with pytest.raises(TabaeInputError, match=f'`{name}` must be'): ae_learner(dls, **{'code_size': 8, 'layers': [32, 16], **kw})

def test_unfillable_procs_are_caught():
    df = frame(60)
    to = TabularPandasIdentity(df, [Categorify, Normalize], ['a', 'b'], ['c', 'd'], splits=RandomSplitter(seed=0)(df))
    with pytest.raises(TabaeInputError, match=r"\['c'\].*FillMissing"): ae_learner(to.dataloaders(bs=16))

def test_frames_are_never_modified(learn):
    df = frame().set_axis(pd.Index([3] * 160))
    df['a'] = pd.Categorical(df.a)
    df.iloc[::9, df.columns.get_loc('d')] = np.inf
    df['m'] = pd.Series([1, 'x'] * 80, dtype=object).values
    before = df.copy(deep=True)
    same = lambda: df.equals(before) and (df.dtypes == before.dtypes).all() and df.index.equals(before.index)
    fitted = fit(df, cats=['a', 'b', 'm'])
    assert same()
    for f in (encode, reconstruct, evaluate): f(fitted, df); assert same()
    encode(learn, df); codes_frame(learn, df); ae_data(df, ['a', 'm'], ['c', 'd'])
    assert same()

    split = (list(range(120)), list(range(120, 160)))
    late = df.assign(a=df.a.cat.add_categories('late'))
    late.iloc[150:, late.columns.get_loc('a')] = 'late'
    before_late = late.copy(deep=True)
    TabularPandasIdentity(late, [Categorify, FillMissing, Normalize], ['a', 'b'], ['c', 'd'], splits=split, reduce_memory=False)
    assert late.equals(before_late) and list(late.a.cat.categories) == list(before_late.a.cat.categories)  # public API too: a class of validation rows only stays in the caller's frame

def test_test_dl_takes_what_encode_takes(learn):
    "fastai's `dls.test_dl` + `get_preds` clean a frame as `encode` does: gaps and inf where training had none, unseen categories, extra columns; bad columns are named; the frame is left as it was."
    df = frame(50, seed=7).assign(c=lambda d: d.c.fillna(0.))
    def preds(d):
        with learn.no_bar(): return torch.cat(learn.get_preds(dl=learn.dls.test_dl(d))[0], 1)
    first3 = np.arange(50) < 3
    gaps = df.assign(d=np.where(first3, np.nan, df.d))
    before = gaps.copy()
    mean = first(p for p in learn.dls.train_ds.procs.fs if isinstance(p, Normalize)).means['d']
    torch.testing.assert_close(preds(gaps), preds(df.assign(d=np.where(first3, mean, df.d))))  # filled with what Normalize maps to 0
    pd.testing.assert_frame_equal(gaps, before)
    assert torch.equal(preds(df.assign(d=np.where(first3, np.inf, df.d))), preds(gaps))
    assert torch.equal(preds(df.assign(extra='text')), preds(df))
    with pytest.warns(UnseenCategoryWarning, match="'a'"): unseen = preds(df.assign(a='never seen'))
    assert torch.equal(unseen, preds(df.assign(a=np.nan)))
    with pytest.raises(TabaeInputError, match="'c'"): learn.dls.test_dl(df.drop(columns='c'))
    with pytest.raises(TabaeInputError, match="'d' must be numeric"): learn.dls.test_dl(df.assign(d=df.d.astype(str)))
    with pytest.raises(TabaeInputError, match=r"\['d'\] hold values past float32's range"): learn.dls.test_dl(df.assign(d=df.d * 1e300))

def test_show_results_shows_missing_numbers_as_missing(learn):
    "The input rows of `show_results` hold NaN where the frame had a missing number (not `FillMissing`'s fill value); the rebuilt rows hold numbers."
    df = frame(40, seed=9)
    dl = learn.dls.test_dl(df)
    b = dl.one_batch()
    with learn.no_bar(): _, _, dec = learn.get_preds(dl=[b], with_decoded=True)
    res = dl.show_results(b, dec, max_n=40, show=False)
    assert df.c.isna().any() and np.array_equal(res.xs('input', level=1).c.isna().to_numpy(), df.c.isna().to_numpy())
    assert res.xs('rebuilt', level=1).c.notna().all()

def test_extreme_value_threshold_is_40_standard_deviations(adult_df):
    "45 standard deviations of the other training rows out, above or below them, is named; 35 is not."
    cats, conts = adult_columns('adult-9')
    for z, warned in ((45, True), (-45, True), (35, False), (-35, False)):
        df = adult_df.iloc[:500].astype({'age': float})
        rest = df.age.iloc[:400].drop(df.index[3])
        df.loc[df.index[3], 'age'] = rest.mean() + z * rest.std(ddof=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            ae_data(df, cats, conts, valid_idx=list(range(400, 500)), bs=64)
        assert any(w.category is ExtremeValueWarning for w in caught) == warned

def test_an_identifier_is_named_from_20_training_rows():
    "A categorical column with a different value in each of 20 training rows is an identifier; in 19 it may be chance."
    from tabae.validate import _warn_uninformative
    ids = pd.Series([f'id{i}' for i in range(20)])
    for n, warned in ((20, True), (19, False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            _warn_uninformative({'id': ids[:n]}, {'id'})
        assert [w.category for w in caught] == ([UninformativeColumnWarning] if warned else [])

def test_a_diverging_fit_without_normalize_names_columns_past_100():
    "Without `Normalize`, a column reaching |x| of about 1,000 is named as the likely cause (not only huge ones)."
    df = frame(400).assign(big=lambda d: d.d * 20)
    with pytest.raises(TabaeInputError, match=r"reach \|x\| of \{'big'"):
        fit(df, conts=('d', 'big'), procs=[Categorify, FillMissing], lr=1e4, mixed_precision=False, bin_targets=0, clip_inputs=False, epochs=2)

def test_swap_p_may_be_1_and_a_flag_name_clash_is_named():
    "`swap_p` lies in [0, 1], 1 included; a categorical column named like the missing flag of a continuous one with training gaps (`c_na`) is refused by name, one named after a column without gaps is the user's own."
    check_hparams(swap_p=1.)
    with pytest.raises(TabaeInputError, match='swap_p'): check_hparams(swap_p=1.01)
    df = frame().assign(c_na=['u', 'v'] * 80, d_na=[True, False] * 80)
    with pytest.raises(TabaeInputError, match=r"^Column\(s\) \['c_na'\] clash with the missing-value flags tabae adds for continuous columns with gaps in the training rows: rename them$"):
        fit(df, cats=['a', 'c_na', 'd_na'])
    ok = fit(df, cats=['a', 'd_na'])  # 'd' has no gaps, so no flag: 'd_na' is the user's own column
    assert user_columns(ok.dls.train_ds)[0] == ['a', 'd_na'] and reconstruct(ok, df).columns.tolist() == ['a', 'c', 'd', 'd_na']
    assert evaluate(ok, df).categorical.index.tolist() == ['a', 'd_na']
    assert list(shift_warnings(encode, ok, df.assign(d=np.nan))[0].message.columns) == ['d']  # 'd_na' (half True) is not read as 'd' missing in training

def test_a_whole_float_matches_its_text_class_unless_the_float_text_is_a_class():
    "A float 1.0 (a CSV chunk's reading of '1') is the text class '1', but the class '1.0' where training had both."
    assert cat_column(pd.Series([1.0, 2.0]), ['#na#', '1', '2']).tolist() == ['1', '2']
    assert cat_column(pd.Series([1.0, 2.0]), ['#na#', '1', '1.0', '2']).tolist() == ['1.0', '2']

def test_ae_learner_refuses_a_one_row_training_split():
    "A hand-built split with one training row is named before any model is built (`fit_autoencoder`'s own check does not see hand-built data)."
    df = frame(10)
    to = TabularPandasIdentity(df, [Categorify, Normalize], ['a', 'b'], ['d'], splits=([0], list(range(1, 10))))
    with pytest.raises(TabaeInputError, match=r'training split has 1 row\(s\): an autoencoder needs at least 2'): ae_learner(to.dataloaders(bs=4), code_size=4, layers=[8])

def test_messages_about_many_columns_stay_short():
    "A wide table's mistakes are named in a few lines: the first columns with why, then names, then a count (400 missing columns, 150 text columns and 120 columns of unseen classes made messages of 5,000-30,000 characters)."
    from tabae.errors import _warn_unseen
    from tabae.validate import _cont_columns
    wide = pd.DataFrame(np.zeros((2, 400)), columns=[f'col_{i}' for i in range(400)])
    with pytest.raises(TabaeInputError) as e: check_columns(wide, [f'COL_{i}' for i in range(400)])
    assert "['COL_0', 'COL_1'" in str(e.value) and 'and 380 more of the training data are missing' in str(e.value) and "(it has ['col_0'" in str(e.value) and len(str(e.value)) < 1000
    text = wide.iloc[:, :150].astype(str).replace('0.0', 'n/a')
    with pytest.raises(TabaeInputError) as e: _cont_columns(text, list(text.columns))
    lines = str(e.value).splitlines()
    assert lines[0] == '150 columns cannot be continuous:' and len(lines) == 7 and "'col_4'" in lines[5] and lines[6].startswith("also ['col_5', 'col_6'") and lines[6].endswith('and 125 more')
    with pytest.warns(UnseenCategoryWarning) as w: _warn_unseen({f'c{i}': 1 for i in range(120)})
    msg = str(w[0].message)
    assert "column 'c19' in 1 row(s)" in msg and "'c20'" not in msg and msg.endswith("and 100 more columns (the warning's `counts` has them all)") and len(w[0].message.counts) == 120

def test_procs_state_compares_fitted_values_as_plain_values():
    "What `_check_procs` compares: fastai's `CategoryMap` as its classes (compared with a missing one it raised a TypeError), numpy arrays and numbers as lists and floats, NaN equal to itself (a NaN fill value refused every call)."
    from fastai.data.transforms import CategoryMap
    from tabae.validate import _plain
    assert _plain(CategoryMap(['b', 'a'], add_na=True)) == ['#na#', 'a', 'b'] and _plain(CategoryMap(['a'])) == ['a']
    assert _plain(np.array([1.5, np.nan])) == [1.5, 'nan'] == _plain([np.float32(1.5), float('nan')]) and _plain(np.int64(3)) == 3

def shift_warnings(f, *args) -> list:
    "The `InputShiftWarning`s `f(*args)` issues, with its result discarded."
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        f(*args)
    return [w for w in caught if w.category is InputShiftWarning]

def test_rows_unlike_the_training_values_are_warned_of_once(learn):
    "A failed join (a column missing in every row, infinite in every row), other units (every value past the training range) and a CSV that read a training class 'N/A' as missing are named in one `InputShiftWarning` per call, at the caller's line, for `encode`, `reconstruct` and `evaluate`; the training frame itself, or a row or two, is not."
    import io
    df = frame().assign(a=np.where(np.arange(160) % 4 == 0, 'N/A', frame().a))
    learn_na = fit(df)
    back = pd.read_csv(io.StringIO(df.to_csv(index=False)))
    assert back.a.isna().sum() == 40
    w = shift_warnings(encode, learn_na, back)
    assert len(w) == 1 and w[0].filename == __file__ and list(w[0].message.columns) == ['a']
    assert re.search(r"'a' has 40 missing value\(s\) and none of its training class\(es\) \['N/A'\], which `read_csv` \(and so a CSV given to the command line\) reads as missing: "
                     r"if the rows come from a CSV, keep the words, e\.g\. `read_csv\(\.\.\., keep_default_na=False", str(w[0].message))
    assert not shift_warnings(encode, learn_na, df.assign(a=df.a.where(np.arange(160) % 8 != 1)))  # real gaps beside the word itself: not read as missing
    broken = frame().assign(b=np.nan, c=np.inf, d=frame().d * 1000)
    for f in (encode, reconstruct, evaluate):
        w = shift_warnings(f, learn, broken)
        assert len(w) == 1 and w[0].message.columns == {'b': 'no value in any of the 160 rows', 'c': 'no value in any of the 160 rows',
                                                         'd': 'values outside the training range in 160 of the 160 rows'}
    assert str(w[0].message).startswith("Column(s) unlike their training values (a failed join, other units, or another reader?): 'b' has no value in any of the 160 rows;")
    assert not shift_warnings(encode, learn, frame()) and not shift_warnings(encode, learn, broken.iloc[:2])
    half = frame().assign(d=np.where(np.arange(160) < 60, frame().d * 1000, frame().d))  # 60 of 160 past the range: drift, not a shift of the whole column
    assert not shift_warnings(encode, learn, half)
    coded = frame().assign(a=pd.Series([v if i < 40 else {'x': 7, 'y': 8, 'z': 9}[v] for i, v in enumerate(frame().a)], dtype=object))  # text classes read as codes, in 120 rows
    w = shift_warnings(encode, learn, coded)
    assert len(w) == 1 and w[0].message.columns == {'a': "numbers training never saw in 120 of the 160 rows, such as ['8', '7', '9'], where the training classes are text, such as ['x', 'y', 'z']"}
    assert not shift_warnings(encode, learn, frame().assign(a=np.where(np.arange(160) < 60, 'new', frame().a)))  # 60 of 160 unseen: new classes, not another coding
    assert not shift_warnings(encode, learn, frame().assign(a=[f'2026-12-{d % 28 + 1:02d}' for d in range(160)]))  # new classes of the same kind (next month's dates): no shift
    few = frame().assign(a=pd.Series(['7', '8', '9'] + [f'new{i % 9}' for i in range(157)], dtype=object))  # 3 rows of numbers first, then new text: not numbers in most rows
    assert not shift_warnings(encode, learn, few)
    late = frame().assign(a=pd.Series(['new1', 'new2', 'new3'] + [str(i % 9) for i in range(157)], dtype=object))  # 3 rows of text first, then numbers in 157
    w = shift_warnings(encode, learn, late)
    assert len(w) == 1 and w[0].message.columns == {'a': "numbers training never saw in 157 of the 160 rows, such as ['0', '1', '2'], where the training classes are text, such as ['x', 'y', 'z']"}
    late_words = frame().assign(a=pd.Series(['w'] * 70 + [str(i % 9) for i in range(90)], dtype=object))  # in chunks of 16: the numbers' examples from later chunks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with sys.modules['tabae.validate']._InputShift.shared(learn):  # one count over the chunks, as `tabae encode` shares it
            for i in range(0, 160, 16): encode(learn, late_words.iloc[i:i + 16])
    w = [c for c in caught if c.category is InputShiftWarning]
    assert len(w) == 1 and w[0].message.columns == {'a': "numbers training never saw in 90 of the 160 rows, such as ['0', '1', '2'], where the training classes are text, such as ['x', 'y', 'z']"}
    assert not shift_warnings(encode, learn, frame().assign(b=pd.Series([True, False] * 80, dtype=object)))  # booleans are neither numbers nor text
    w = shift_warnings(encode, learn, frame().assign(b=[f'w{i % 5}' for i in range(160)]))  # words where the classes are numbers: the other way round
    assert len(w) == 1 and w[0].message.columns == {'b': "text training never saw in 160 of the 160 rows, such as ['w0', 'w1', 'w2'], where the training classes are numbers, such as [0, 1, 2]"}

def test_shift_warnings_follow_rank_gauss_sparse_columns_and_predict(learn):
    "Under `rank_gauss` (which clamps to its quantiles, so the processed values never leave the range) values past the training range are still counted, in original units; a column mostly missing in training may be missing in every row; `predict` says nothing of one row; a loaded learner, which keeps no rows, still warns."
    rg = fit(frame(), rank_gauss=True)
    assert not shift_warnings(encode, fit(frame(), conts=(), rank_gauss=True), frame())  # no numbers to compare (it failed to stack none)
    w = shift_warnings(encode, rg, frame().assign(d=frame().d * 1000))
    assert len(w) == 1 and w[0].message.columns == {'d': 'values outside the training range in 160 of the 160 rows'}
    assert not shift_warnings(encode, rg, frame())
    sparse = frame().assign(c=np.where(np.arange(160) % 10 == 0, 1.5, np.nan))  # 90% missing in training
    assert not shift_warnings(encode, fit(sparse), sparse.assign(c=np.nan))
    assert not shift_warnings(lambda l, d: l.predict(d.iloc[0]), learn, frame().assign(b=np.nan, d=1e9))
    loaded = load_encoder(save_encoder(learn, Path(tempfile.mkdtemp()) / 'enc'))
    assert list(shift_warnings(encode, loaded, frame().assign(b=np.nan))[0].message.columns) == ['b']

def test_shift_warnings_cover_the_fastai_test_dl(learn):
    "`dls.test_dl(df)` (the fastai way to `get_preds`) names the columns `encode` names, against the training rows' range; a loaded learner's DataLoaders, which keep no rows, still name a failed join."
    broken = frame().assign(b=np.nan, d=frame().d * 1000)
    w = shift_warnings(learn.dls.test_dl, broken)
    assert len(w) == 1 and w[0].filename == __file__ and w[0].message.columns == {'b': 'no value in any of the 160 rows', 'd': 'values outside the training range in 160 of the 160 rows'}
    assert not shift_warnings(learn.dls.test_dl, frame()) and not shift_warnings(learn.dls.test_dl, broken.iloc[:2])
    loaded = load_encoder(save_encoder(learn, Path(tempfile.mkdtemp()) / 'enc'))
    assert shift_warnings(loaded.dls.test_dl, broken)[0].message.columns == {'b': 'no value in any of the 160 rows'}

def test_numbers_held_as_text_are_named():
    "A categorical column of many classes that are nearly all numbers as text ('12%', or numbers beside 'N/A', as a CSV with one word in a number column reads) is named, with examples; a few numeric codes, words and an identifier are not (the identifier is named as one)."
    rng = np.random.default_rng(0)
    n = 300
    df = frame(n).assign(pct=[f'{v}%' for v in rng.integers(0, 40, n)], credit=[str(v) if v > 350 else 'N/A' for v in rng.integers(300, 850, n)],
                         codes=rng.choice(['1', '2', '3'], n), words=rng.choice([f'w{i}' for i in range(30)], n), ids=[str(i) for i in range(n)])
    with pytest.warns(NumbersAsTextWarning) as caught: fit_autoencoder(df, ['a', 'pct', 'credit', 'codes', 'words', 'ids'], ['c'], **KW)
    w = [c for c in caught if c.category is NumbersAsTextWarning]
    assert len(w) == 1 and w[0].filename == __file__ and list(w[0].message.columns) == ['pct', 'credit']
    assert re.search(r"'pct' has \d+ classes, 100% of them numbers as text \(such as \['\d+%', ", str(w[0].message))
    assert re.search(r"'credit' has \d+ classes, 9\d% of them numbers as text \(such as \['\d+', .*\], beside \['N/A'\]\)", str(w[0].message))
    assert str(w[0].message).endswith("convert them, e.g. `pd.to_numeric(df[col].str.rstrip('%'), errors='coerce')`, and pass them in `cont_names`")
    with pytest.warns(NumbersAsTextWarning) as caught: fit_autoencoder(df.assign(pct=df.pct.astype('category')), ['a', 'pct'], ['c'], **KW)  # a pandas categorical too
    assert [list(c.message.columns) for c in caught if c.category is NumbersAsTextWarning] == [['pct']]
