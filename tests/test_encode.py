import json, sys, warnings
import numpy as np, pandas as pd, pytest, torch
from tabae import TabaeInputError, UnseenCategoryWarning, adult_columns, encode, fit_autoencoder, load_encoder, reconstruct, save_encoder

CATS, CONTS = adult_columns('adult-14')

def unseen_warnings(f, *args, **kwargs):
    "Call `f` and return its result and the messages of the warnings about unseen categories it raised."
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        res = f(*args, **kwargs)
    return res, [str(w.message) for w in ws if 'never seen in training' in str(w.message)]

@pytest.fixture
def rows(adult_test_df):
    "400 held-out Adult rows under a non-default index (strings, shuffled order)."
    df = adult_test_df.iloc[:400].copy()
    df.index = [f'row{i}' for i in np.random.default_rng(0).permutation(len(df))]
    return df

def test_shape_index_and_columns(small_learn, rows):
    codes = small_learn.encode(rows)
    assert codes.shape == (len(rows), 16) and list(codes.columns) == [f'ae_{i}' for i in range(16)]
    assert codes.index.equals(rows.index) and codes.dtypes.eq(np.float32).all()
    assert np.isfinite(codes.to_numpy()).all()
    rev = small_learn.encode(rows.iloc[::-1])  # each code stays with its own row
    np.testing.assert_allclose(rev.loc[rows.index].to_numpy(), codes.to_numpy(), atol=1e-5)
    assert encode(small_learn, rows, prefix='z').columns[0] == 'z0'

def test_codes_are_the_model_code_in_eval_mode(small_learn, adult_df):
    "Rows are processed as in training: their codes are the eval-mode model's code of the training tensors."
    to, model = small_learn.dls.train_ds, small_learn.model
    cats = torch.tensor(to.items[to.cat_names].to_numpy()[:64].astype(np.int64))
    conts = torch.tensor(to.items[to.cont_names].to_numpy()[:64].astype(np.float32))
    idx = to.items.index[:64]  # the training split is shuffled: the rows of adult_df these are
    was_training = model.training
    model.eval()
    with torch.no_grad(): want = model(cats, conts, encode=True).numpy()
    model.train()
    np.testing.assert_allclose(encode(small_learn, adult_df.loc[idx], mixed_precision=False).to_numpy(), want, atol=1e-4)
    assert model.training  # the mode is restored
    model.train(was_training)
    fast = encode(small_learn, adult_df.loc[idx]).to_numpy()  # bf16 matmuls where the CPU/GPU has them
    assert np.abs(fast - want).max() <= 0.02 * np.abs(want).max()

def test_values_past_the_training_range_are_clipped(small_learn, rows):
    "The defaults clip continuous inputs to the head's range: far-out values give the same codes (fast encoder) and rebuilds (model) however far out they are."
    far, farther = rows.copy(), rows.copy()
    far.loc[far.index[:5], 'age'], farther.loc[far.index[:5], 'age'] = 1e6, 1e9
    assert np.array_equal(encode(small_learn, far).to_numpy(), encode(small_learn, farther).to_numpy())
    assert reconstruct(small_learn, far).equals(reconstruct(small_learn, farther))
    assert not np.array_equal(encode(small_learn, far).to_numpy()[:5], encode(small_learn, rows).to_numpy()[:5])

def test_df_never_mutated(small_learn, rows):
    df = rows.copy()
    df.loc[df.index[:5], 'workclass'] = 'Martian'
    df.loc[df.index[5:9], 'age'] = np.nan
    before = df.copy()
    unseen_warnings(small_learn.encode, df)
    unseen_warnings(small_learn.reconstruct, df)
    pd.testing.assert_frame_equal(df, before)

def test_unseen_categories_map_to_na_with_one_warning(small_learn, rows):
    seen = small_learn.encode(rows)
    df = rows.copy()
    df.loc[df.index[:3], 'workclass'] = 'Martian'
    df.loc[df.index[3:5], 'race'] = 'Zz'
    codes, msgs = unseen_warnings(small_learn.encode, df)
    assert len(msgs) == 1, msgs
    assert "'workclass' in 3 row" in msgs[0] and "'race' in 2 row" in msgs[0] and '#na#' in msgs[0]
    as_na = rows.copy()
    as_na.loc[as_na.index[:3], 'workclass'] = np.nan
    as_na.loc[as_na.index[3:5], 'race'] = np.nan
    np.testing.assert_allclose(codes.to_numpy(), small_learn.encode(as_na).to_numpy(), atol=1e-6)  # the '#na#' class
    assert not np.allclose(codes.iloc[:5].to_numpy(), seen.iloc[:5].to_numpy(), atol=1e-4)
    np.testing.assert_allclose(codes.iloc[5:].to_numpy(), seen.iloc[5:].to_numpy(), atol=1e-6)

def test_unseen_means_unseen_by_the_training_rows(small_learn, adult_df):
    "No warning on the rows the model trained on; classes only its validation rows have are unseen (they used to enter the vocabulary, with embeddings and logits that never trained)."
    from fastai.tabular.all import RandomSplitter
    df = adult_df.iloc[:3000]
    train, valid = RandomSplitter(0.2, seed=0)(range(len(df)))  # `fit_autoencoder`'s split
    _, msgs = unseen_warnings(small_learn.encode, df.iloc[list(train)])
    assert msgs == []
    late = {c: df[c].iloc[list(valid)][~df[c].iloc[list(valid)].isin(df[c].iloc[list(train)])].dropna() for c in CATS}
    late = {c: v for c, v in late.items() if len(v)}
    assert late and all(v.iloc[0] not in small_learn.dls.train_ds.classes[c] for c, v in late.items())
    _, msgs = unseen_warnings(small_learn.encode, df)
    assert len(msgs) == 1 and all(f"column '{c}' in {len(v)} row(s)" in msgs[0] for c, v in late.items())

def test_nan_continuous_values(small_learn, rows):
    df = rows.astype({'age': float, 'hours-per-week': float})
    df.loc[df.index[:10], 'age'] = np.nan
    df.loc[df.index[10:12], 'hours-per-week'] = np.inf
    codes = small_learn.encode(df)
    assert np.isfinite(codes.to_numpy()).all()
    norm = small_learn.dls.train_ds.procs.normalize
    filled = df.copy()
    filled.loc[filled.index[:10], 'age'] = norm.means['age']  # no NaN in training: filled with the training mean
    filled.loc[filled.index[10:12], 'hours-per-week'] = norm.means['hours-per-week']
    np.testing.assert_allclose(codes.to_numpy(), small_learn.encode(filled).to_numpy(), atol=1e-4)

def test_batch_size_independent(small_learn, rows):
    a, b = encode(small_learn, rows, bs=7), encode(small_learn, rows, bs=4096)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-5)
    with pytest.raises(TabaeInputError, match='`bs` must be a positive int, got 0'): encode(small_learn, rows, bs=0)

def test_chunks_share_one_class_index(small_learn, rows, monkeypatch):
    "The training classes are indexed once per call, not per chunk; chunked codes, Arrow or object strings, and unseen-category counts equal the unchunked ones."
    enc = sys.modules['tabae.encode']  # the module: `tabae.encode` is the function
    built, init = [], enc._ClassIndex.__init__
    monkeypatch.setattr(enc._ClassIndex, '__init__', lambda self, to: (built.append(1), init(self, to))[1])
    df = rows.copy()
    df.loc[df.index[:3], 'workclass'] = 'Martian'
    whole = np.concatenate([o.numpy() for _, o in enc.model_outputs(small_learn, df)])
    assert len(built) == 1
    import pyarrow.compute as pc
    arrow, index_in = [], pc.index_in
    monkeypatch.setattr(pc, 'index_in', lambda *a, **k: (arrow.append(1), index_in(*a, **k))[1])
    df_objects = df.astype({c: object for c in CATS})
    for d in (df.astype({c: pd.StringDtype('pyarrow') for c in CATS}), df_objects):  # Arrow strings (pandas 3's default; the Arrow path), then Python ones
        n = len(built)
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter('always')
            parts = list(enc.model_outputs(small_learn, d, bs=64, chunk=64))
        assert len(parts) == 7 and len(built) == n + 1
        np.testing.assert_allclose(np.concatenate([o.numpy() for _, o in parts]), whole, atol=1e-5)
        assert [(w.message.counts, w.message.examples) for w in ws if isinstance(w.message, UnseenCategoryWarning)] == [({'workclass': 3}, {'workclass': ['Martian']})]
        assert bool(arrow) == (d is not df_objects)  # Arrow's `index_in` for Arrow strings, pandas for Python ones
        arrow.clear()

def test_missing_column_is_named(small_learn, rows):
    with pytest.raises(TabaeInputError, match=r"\['education'\] of the training data are missing"): small_learn.encode(rows.drop(columns='education'))

def test_reconstruct_labels_and_original_units(small_learn, adult_df, rows):
    rec = reconstruct(small_learn, rows)
    assert list(rec.columns) == [c for c in rows.columns if c in CATS + CONTS] != CATS + CONTS and rec.index.equals(rows.index)  # the frame's order, not the model's
    assert list(reconstruct(small_learn, rows[CONTS[::-1] + CATS]).columns) == CONTS[::-1] + CATS
    to = small_learn.dls.train_ds
    classes = to.procs.categorify.classes
    for c in CATS: assert set(rec[c].dropna()) <= set(classes[c][1:]), c  # labels (or missing: '#na#'), not class indices
    train = adult_df.iloc[:3000]
    for c in CONTS:  # inside the training range in original units (the head's bounds), not in normalized units
        lo, hi = train[c].min(), train[c].max()
        assert rec[c].between(lo - 1e-4 * (hi - lo), hi + 1e-4 * (hi - lo)).all(), c
    assert rec['fnlwgt'].mean() > 1e4 and rec['age'].mean() > 15
    # the decoded model output, by hand
    model = small_learn.model.eval()
    from tabae import process_frame
    cats, conts = process_frame(small_learn, rows)
    with torch.no_grad(): logits, out = model(cats, conts)
    norm = to.procs.normalize
    np.testing.assert_allclose(rec['age'].to_numpy(), out[:, CONTS.index('age')].numpy() * norm.stds['age'] + norm.means['age'], rtol=1e-4)
    first_cat = logits[:, :len(classes[CATS[0]])].argmax(1).numpy()
    assert rec[CATS[0]].fillna('#na#').tolist() == [classes[CATS[0]][i] for i in first_cat]

def test_empty_frame(small_learn, rows):
    assert small_learn.encode(rows.iloc[:0]).shape == (0, 16)
    empty, some = small_learn.reconstruct(rows.iloc[:0]), small_learn.reconstruct(rows.iloc[:3])
    assert list(empty.columns) == list(some.columns) == [c for c in rows.columns if c in CATS + CONTS] and empty.dtypes.equals(some.dtypes) and len(empty) == 0  # typed as rebuilt rows, not object

@pytest.mark.parametrize('values,msg', [([True, False], 'holds booleans'), ([1 + 2j, 3j], 'must be numeric'), (['a', 'b'], 'must be numeric')])
def test_encode_checks_continuous_columns_as_training_does(small_learn, rows, values, msg):
    "A continuous column that training would refuse (booleans, complex numbers, text) is refused at encode time with the same message, without training's 'pass it in `cat_names`' (too late for that)."
    from tabae import TabaeInputError
    bad = rows.iloc[:2].copy()
    bad['age'] = values
    with pytest.raises(TabaeInputError, match=f"'age' {msg}") as e: encode(small_learn, bad)
    assert 'cat_names' not in str(e.value) and ('convert them' in str(e.value) or 'to_numeric' in str(e.value))

def test_an_eval_mode_model_stays_in_eval_mode(small_learn, rows):
    "`encode`, `reconstruct`, `evaluate` and `predict` put the model back in the mode they found it in: eval stays eval, and BatchNorm's statistics do not move."
    model = small_learn.model
    was = model.training
    model.eval()
    try:
        stats = [b.clone() for n, b in model.named_buffers() if 'running' in n]
        for f in (lambda: small_learn.encode(rows), lambda: small_learn.reconstruct(rows), lambda: small_learn.evaluate(rows), lambda: small_learn.predict(rows.iloc[0])):
            f()
            assert not model.training
        assert all(torch.equal(a, b) for a, b in zip(stats, [b for n, b in model.named_buffers() if 'running' in n]))
    finally: model.train(was)

def test_learner_methods_pass_their_arguments(small_learn, rows, monkeypatch):
    "`learn.encode`/`reconstruct`/`evaluate` take `encode`'s arguments (`prefix`, `deep_stack`, `bs`, ...), not only the frame."
    E = sys.modules['tabae.encode']  # `tabae.encode` is the function
    assert small_learn.encode(rows, prefix='z').columns[0] == 'z0'
    assert small_learn.encode(rows, deep_stack=True).shape[1] == 64 + 32 + 16
    seen, real = [], E.model_outputs
    monkeypatch.setattr(E, 'model_outputs', lambda *a, **kw: seen.append(kw['bs']) or real(*a, **kw))
    small_learn.reconstruct(rows, bs=7); small_learn.evaluate(rows, bs=9)
    assert seen == [7, 9]
    framed = small_learn.codes_frame(rows, 'salary', keep_raw=True)
    assert list(framed.columns) == [f'ae_{i}' for i in range(16)] + CATS + CONTS + ['salary'] and framed.index.equals(rows.index)

def test_reconstruct_keeps_class_indices_not_logits(small_learn, rows, monkeypatch):
    "`reconstruct` kept a chunk's logits of every class of every column (rows x classes: 7.5 GB for 40,000 rows of a 24,000-class column) before taking the argmax; it now keeps each batch's class indices, with the same rows."
    E = sys.modules['tabae.encode']
    (_, (pc, pf)), = E.model_outputs(small_learn, rows, bs=16, encode=False, labels=True)
    (_, raw), = E.model_outputs(small_learn, rows, bs=16, encode=False)
    assert pc.dtype == torch.long and pc.shape == (len(rows), len(CATS)) and raw[0].shape[1] > 3 * len(CATS)
    assert torch.equal(pc, small_learn.loss_func.decodes(raw)[0]) and torch.equal(pf, raw[1])
    seen, real = [], E.model_outputs
    monkeypatch.setattr(E, 'model_outputs', lambda *a, **kw: seen.append(kw.get('labels')) or real(*a, **kw))
    rec = small_learn.reconstruct(rows)
    pd.testing.assert_frame_equal(rec.reset_index(drop=True), E.decode_outputs(small_learn, raw)[list(rec.columns)])
    assert seen == [True]

def test_no_progress_bar_on_a_small_frame(small_learn, rows, monkeypatch):
    "A frame of two chunks or fewer (every `predict`) draws no progress bar unless asked for one."
    E = sys.modules['tabae.encode']  # `tabae.encode` is the function
    bars = []
    monkeypatch.setattr(E, 'progress_bar', lambda it, **kw: bars.append(1) or it)
    encode(small_learn, rows)
    assert bars == []
    encode(small_learn, rows, progress=True)
    assert bars == [1]

def test_integer_classes_past_2_53_given_as_floats_are_matched_exactly():
    "Floats meet integer classes only where they equal one exactly: 2**60 is none of 2**60 + 1, + 3, + 5 (pandas compared them as floats and took the last), so it is unseen; 1.0 is still class 1."
    from tabae.process import process_frame
    r = np.random.default_rng(0)
    df = pd.DataFrame({'small': r.integers(0, 4, 400), 'big': r.choice([2**60 + 1, 2**60 + 3, 2**60 + 5], 400), 'u': r.normal(size=400)})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, ['small', 'big'], ['u'], code_size=4, layers=[8], epochs=1, progress=False)
    rows = df.iloc[:6].astype({'small': float, 'big': float})
    with pytest.warns(UnseenCategoryWarning, match=r"'big' in 6 row"): cats, _ = process_frame(learn, rows)
    assert (cats[:, 1] == 0).all() and torch.equal(cats[:, 0], process_frame(learn, df.iloc[:6])[0][:, 0])  # '#na#'; the small ones as ints

def test_integer_classes_given_as_text_are_matched():
    "A CSV column of number classes with one word in it reads as text: '5', '05' and '5.0' are class 5 and '2' is float class 2.0 (every row was unseen), as a CSV reader makes numbers of them; the word and a gap are not."
    from tabae.process import process_frame
    r = np.random.default_rng(0)
    df = pd.DataFrame({'n': r.integers(0, 12, 400), 'f': r.choice([0.5, 2.0], 400), 'b': r.choice([True, False], 400), 'u': r.normal(size=400)})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, ['n', 'f', 'b'], ['u'], code_size=4, layers=[8], epochs=1, progress=False)
    rows = df.iloc[:8].copy()
    for dtype in (object, 'str'):
        text = rows.astype({'n': str, 'f': str, 'b': str}).astype({'n': dtype, 'f': dtype, 'b': dtype})
        text.loc[text.index[:5], 'n'] = ['word', '0' + text['n'].iloc[1], None, text['n'].iloc[3] + '.0', ' ' + text['n'].iloc[4]]
        text['f'] = text['f'].str.replace('2.0', '2')
        text.loc[text.index[0], 'b'] = text['b'].iloc[0].lower()
        with pytest.warns(UnseenCategoryWarning) as ws: cats, _ = process_frame(learn, text)
        assert [w.message.counts for w in ws] == [{'n': 1}]  # the word; the gap is missing, not unseen
        want = process_frame(learn, rows)[0]
        assert (cats[[0, 2], 0] == 0).all() and torch.equal(cats[[1, 3, 4, 5, 6, 7]], want[[1, 3, 4, 5, 6, 7]]) and torch.equal(cats[:, 1:3], want[:, 1:3])

def test_prefix_must_be_text(small_learn, adult_test_df):
    "`encode(prefix=5)` named the columns '50', '51', ...: a prefix that is not a string is refused."
    from tabae import TabaeInputError
    with pytest.raises(TabaeInputError, match=r"`prefix` must be a string.*got 5"): encode(small_learn, adult_test_df.iloc[:5], prefix=5)
    assert list(encode(small_learn, adult_test_df.iloc[:5], prefix='z').columns)[:2] == ['z0', 'z1']

def test_a_wide_frame_is_processed_without_fragmenting(adult_df):
    "120 continuous columns with gaps: `FillMissing`'s `<col>_na` columns and the rebuilt rows were inserted column by column, and pandas warned of a fragmented frame (71 times in a fit, 6 per `encode` and `evaluate`, 12 per `predict`)."
    rng = np.random.default_rng(0)
    n, k = 300, 120
    df = pd.DataFrame({'c': rng.choice(list('abc'), n), **{f'x{i}': np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)) for i in range(k)}})
    new = df.iloc[200:].copy()
    new.loc[new.index[0], 'x0'] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter('error', pd.errors.PerformanceWarning)
        learn = fit_autoencoder(df.iloc[:200], ['c'], [f'x{i}' for i in range(k)], code_size=4, layers=[16], epochs=1, bs=64, progress=False)
        codes, rows = learn.encode(new), learn.reconstruct(new)
        learn.evaluate(new), learn.predict(new.iloc[0]), learn.dls.test_dl(new).one_batch()
    assert codes.shape == (100, 4) and rows.columns.tolist() == ['c'] + [f'x{i}' for i in range(k)]

def test_rebuilt_categories_missing_as_missing_in_one_dtype_per_kind():
    "A category rebuilt as fastai's '#na#' (missing or unseen) comes back missing, not as the text '#na#' among numbers (`.isna()` found none), and each column has one dtype for its kind of class whatever the rows: Int64, boolean, float64, text (mixed classes are kept as text)."
    r = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({'i': pd.array(np.where(r.random(n) < .3, None, r.integers(0, 3, n)), dtype='Int64'), 'f': r.integers(0, 2, n) / 2,
                       't': np.where(r.random(n) < .3, None, r.choice(['a', 'b'], n)), 'b': r.random(n) < .5,
                       'm': pd.Series([[1, 'a', 2.5][k] for k in r.integers(0, 3, n)], dtype=object), 'x': r.normal(size=n)})
    cats = ['i', 'f', 't', 'b', 'm']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, cats, ['x'], code_size=4, layers=[16], epochs=1, progress=False)
    head = learn.model.cat_head[-1] if isinstance(learn.model.cat_head, torch.nn.Sequential) else learn.model.cat_head
    starts = np.cumsum([0] + list(learn.model.n_classes))[:-1]
    text = pd.Series(['a', None]).dtype  # pandas' own for text: `str` from pandas 3, object before
    want = {'i': pd.Int64Dtype(), 'f': np.dtype('float64'), 't': text, 'b': pd.BooleanDtype(), 'm': text}
    for k, missing in ((0, True), (1, False)):  # every column rebuilt as '#na#', then as its first class
        with torch.no_grad(): head.weight.zero_(); head.bias.fill_(-1e4); head.bias[starts + k] = 1e4
        rec = learn.reconstruct(df)
        assert {c: rec[c].dtype for c in cats} == want and rec[cats].isna().all().all() == missing and not rec[cats].astype(object).isin(['#na#']).any().any()
        assert learn.predict(df.iloc[0])[0][cats].isna().all() == missing
    assert (rec['i'] == df['i'].dropna().min()).all() and learn.evaluate(df).categorical.loc['i', 'balanced_accuracy'] > 0  # the class, scored as `evaluate`'s actual values

def test_categoricals_keep_their_order_and_ordered_ones_come_back_ordered(tmp_path):
    "A pandas categorical's classes keep its categories' order, as fastai's own `Categorify` keeps them (they were sorted as text), and an ordered one is rebuilt as that ordered categorical, through `save_encoder` and `export` too: comparisons on the rebuilt rows follow the order (on text, 'Ideal' < 'Premium')."
    from fastai.tabular.all import TabularPandas, Categorify as FastaiCategorify, load_learner
    r = np.random.default_rng(0)
    n = 300
    cut = ['Fair', 'Good', 'Very Good', 'Premium', 'Ideal']
    df = pd.DataFrame({'cut': pd.Categorical(r.choice(cut[1:], n), categories=cut, ordered=True), 'lvl': pd.Categorical(r.choice(['lo', 'mid', 'hi'], n), categories=['mid', 'lo', 'hi']),
                       'x': r.normal(size=n)})  # no row is 'Fair': the rebuilt rows keep it among their categories, so they compare with the user's
    learn = fit_autoencoder(df, ['cut', 'lvl'], ['x'], code_size=4, layers=[16], epochs=2, progress=False)
    fastai = TabularPandas(df, [FastaiCategorify], ['cut', 'lvl'], ['x'])
    classes = learn.dls.train_ds.classes
    assert list(classes['cut']) == list(fastai.classes['cut'])[:1] + list(fastai.classes['cut'])[2:] == ['#na#'] + cut[1:] and list(classes['lvl']) == list(fastai.classes['lvl']) == ['#na#', 'mid', 'lo', 'hi']
    learn.export(tmp_path / 'l.pkl')
    for l in (learn, load_encoder(save_encoder(learn, tmp_path / 'enc')), load_learner(tmp_path / 'l.pkl')):
        rec = l.reconstruct(df)
        assert rec.cut.dtype == df.cut.dtype and rec.lvl.dtype == pd.Series(['a']).dtype  # an unordered categorical comes back as its classes' values, as before
        assert ((rec.cut > 'Premium') == (rec.cut == 'Ideal')).all() and (rec.cut > 'Fair').all() and (rec.cut == df.cut).mean() > 0.2
    cat = learn.dls.train_ds.procs.categorify
    cat.ordered, was = ['cut'], cat.ordered  # an earlier form: the names alone, categories taken from the training classes
    assert list(learn.reconstruct(df).cut.dtype.categories) == cut[1:]
    p = save_encoder(learn, tmp_path / 'names')
    cfg = json.loads((p / 'tabae.json').read_text())
    state = next(o for o in cfg['procs'] if o['proc'] == 'Categorify')
    assert state['ordered'] == [['cut', cut[1:]]]
    state['ordered'] = ['cut']  # a file of that form
    (p / 'tabae.json').write_text(json.dumps(cfg))
    assert list(load_encoder(p).reconstruct(df).cut.dtype.categories) == cut[1:]
    cat.ordered = []
    assert learn.reconstruct(df).cut.dtype == pd.Series(['a']).dtype
    cat.ordered = was
    assert learn.reconstruct(df.assign(cut=df.cut.astype(str))).cut.dtype == df.cut.dtype  # the rows to rebuild need not be categorical
