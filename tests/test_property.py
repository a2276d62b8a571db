import re, warnings
import numpy as np, pandas as pd, pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from tabae import *

KW = dict(code_size=4, layers=[8], epochs=1, bs=64, progress=False)
CAT_KINDS = ['str', 'int', 'float', 'bool', 'category', 'mixed', 'datetime', 'nullable']
CONT_KINDS = ['float', 'int', 'nullable', 'constant', 'inf', 'huge'] * 3 + ['all_nan', 'text']  # bad kinds rarer, so most frames train
PLAIN_CATS, PLAIN_CONTS = {'str', 'int', 'float', 'bool', 'category', 'nullable'}, {'float', 'int', 'nullable', 'constant'}

def cat_values(kind:str, n:int, n_levels:int, r) -> pd.Series:
    "A categorical column with a few common levels and rare ones (Zipf-like frequencies)."
    p = 1 / np.arange(1, n_levels + 1) ** 2
    codes = r.choice(n_levels, n, p=p / p.sum())
    levels = {'str': [f'lvl {i} é' for i in range(n_levels)], 'int': list(range(-3, n_levels - 3)), 'float': [i / 2 for i in range(n_levels)],
              'bool': [i % 2 == 0 for i in range(n_levels)], 'category': [f'c{i}' for i in range(n_levels)],
              'mixed': [[i, f's{i}', i + 0.5][i % 3] for i in range(n_levels)], 'nullable': list(range(n_levels)),
              'datetime': list(pd.date_range('2021-01-01', periods=n_levels, freq='h'))}[kind]
    s = pd.Series([levels[c] for c in codes], dtype=object)
    if kind == 'category': return s.astype('category')
    if kind == 'nullable': return s.astype('Int64')
    return s if kind in ('mixed', 'datetime') else pd.Series(s.tolist())

def cont_values(kind:str, n:int, r) -> pd.Series:
    x = r.normal(size=n) * 10. ** r.integers(-3, 7)
    if kind == 'int': return pd.Series(np.round(x).astype(np.int64))
    if kind == 'nullable': return pd.Series(pd.array([None if r.random() < 0.2 else int(v) for v in x], dtype='Int64'))
    if kind == 'constant': return pd.Series(np.full(n, 3.5))
    if kind == 'inf': x[r.random(n) < 0.1] = np.inf; x[r.random(n) < 0.1] = -np.inf
    if kind == 'huge': x = x * 1e300
    if kind == 'all_nan': x[:] = np.nan
    if kind == 'text': return pd.Series([f'{v:.2f}' for v in x])
    return pd.Series(x)

@st.composite
def frames(draw):
    "Random mixed frames: 1..300 rows, 0..6 cat and 0..6 cont columns of many dtypes, NaNs, rare categories, odd names."
    n, seed = draw(st.integers(1, 300)), draw(st.integers(0, 2**32 - 1))
    cats = draw(st.lists(st.tuples(st.sampled_from(CAT_KINDS), st.integers(1, 12), st.floats(0, 0.5)), max_size=6))
    conts = draw(st.lists(st.tuples(st.sampled_from(CONT_KINDS), st.floats(0, 0.5)), min_size=0 if cats else 1, max_size=6))  # no columns: test_validate
    r, cols = np.random.default_rng(seed), {}
    for i, (kind, n_levels, nan) in enumerate(cats):
        s = cat_values(kind, n, n_levels, r)
        cols[f'cat {i} ü'] = s.mask(pd.Series(r.random(n) < nan)) if kind not in ('category', 'nullable') else s.where(r.random(n) >= nan)
    for i, (kind, nan) in enumerate(conts):
        s = cont_values(kind, n, r)
        cols[f'cont_{i}'] = s.where(r.random(n) >= nan) if kind not in ('text', 'nullable') else s
    df = pd.DataFrame(cols).set_axis(pd.Index(r.integers(0, 5, n)))  # duplicated labels
    plain = n >= 20 and {k for k, _ in conts} <= PLAIN_CONTS and {k for k, *_ in cats} <= PLAIN_CATS  # nothing to refuse: such a frame must train
    return df, [c for c in cols if c.startswith('cat')], [c for c in cols if c.startswith('cont')], draw(st.sampled_from([0, 0.2])), plain

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frames())
def test_fit_and_encode_work_or_say_why(case):
    "Every frame trains and encodes to finite codes, or raises tabae's error naming a column or argument; a plain frame (no text or huge numbers, no empty column, 20+ rows) always trains; the frame is never changed."
    df, cats, conts, valid_pct, plain = case
    before = df.copy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            try:
                learn = fit_autoencoder(df, cats, conts, valid_pct=valid_pct, **KW)
                codes = encode(learn, df)
            except TabaeInputError as e:
                assert not plain, f"a plain frame was refused: {e}"
                assert any(repr(c) in str(e) for c in df.columns) or re.search(r'rows?\b|`valid_pct`', str(e)), f"names no column or argument: {e}"
                return
        assert codes.shape == (len(df), 4) and codes.index.equals(df.index)
        assert np.isfinite(codes.to_numpy()).all()
    finally: assert df.equals(before) and (df.dtypes == before.dtypes).all()

def small_fit(df, seed=0):
    cats, conts = adult_columns('adult-9')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fit_autoencoder(df, cats, conts, code_size=8, layers=[32, 16], epochs=2, bs=256, seed=seed, progress=False)

def test_fixed_seed_gives_identical_codes(adult_df):
    df = adult_df.iloc[:1500]
    a, b, c = small_fit(df), small_fit(df), small_fit(df, seed=1)
    assert np.array_equal(encode(a, df).values, encode(b, df).values)
    assert not np.allclose(encode(a, df).values, encode(c, df).values)  # the seed matters

@pytest.mark.filterwarnings('ignore:Categories never seen')
def test_encoding_is_deterministic(adult_df):
    "Same rows, same codes: bit for bit when repeated; across batch sizes and row orders within float32 rounding (fp32 encoder) or a bf16 ulp or two (the default)."
    df, learn = adult_df.iloc[1500:2500], small_fit(adult_df.iloc[:1500])
    ref, ref32 = encode(learn, df).values, encode(learn, df, mixed_precision=False).values
    assert np.array_equal(encode(learn, df).values, ref)
    perm = np.random.default_rng(0).permutation(len(df))
    assert np.allclose(encode(learn, df.iloc[perm], mixed_precision=False).values, ref32[perm], rtol=1e-5, atol=1e-6)
    assert np.allclose(encode(learn, df.iloc[perm]).values, ref[perm], rtol=2**-7, atol=1e-3)
    for bs in (1, 7, 333):
        assert np.allclose(encode(learn, df, bs=bs, mixed_precision=False).values, ref32, rtol=1e-5, atol=1e-6)
        assert np.allclose(encode(learn, df, bs=bs).values, ref, rtol=2**-7, atol=1e-3)
    assert np.array_equal(encode(learn, df.iloc[perm], bs=333).values, encode(learn, df.iloc[perm], bs=333).values)
