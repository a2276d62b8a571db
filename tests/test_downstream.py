import pickle, re, warnings
import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import Categorify, CategoryBlock, FillMissing, FillStrategy, Normalize, RegressionBlock, accuracy, set_seed, tabular_learner
from tabae import TabaeInputError, UnseenCategoryWarning, adult_columns, codes_dls, codes_frame, encode, fit_autoencoder

CATS, CONTS = adult_columns('adult-14')
CODES = [f'ae_{i}' for i in range(16)]

@pytest.fixture(scope='module')
def frames(adult_df, adult_test_df):
    "1,200 training rows (with a non-default index) and 400 held-out rows of Adult."
    train = adult_df.iloc[:1200].set_axis([f'r{i}' for i in range(1200)])
    return train, adult_test_df.iloc[:400]

@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # categories the 3,000 training rows never saw
        yield

def test_codes_frame(small_learn, frames):
    train, _ = frames
    fr = codes_frame(small_learn, train, 'salary')
    assert list(fr.columns) == CODES + ['salary'] and fr.index.equals(train.index)
    pd.testing.assert_frame_equal(fr[CODES], encode(small_learn, train))
    assert fr['salary'].equals(train['salary'])
    raw = codes_frame(small_learn, train, 'salary', keep_raw=True)
    assert list(raw.columns) == CODES + CATS + CONTS + ['salary']
    pd.testing.assert_frame_equal(raw[CATS + CONTS], train[CATS + CONTS])

def test_missing_target_is_named(small_learn, frames):
    with pytest.raises(ValueError, match='income'): codes_frame(small_learn, frames[0], 'income')

def test_targets_a_classifier_cannot_learn_are_named(small_learn, frames):
    "Missing target values, and classes only the validation rows have, are named (fastai's loss failed with 'Target 35 is out of bounds')."
    train, test = (d.assign(country=d['native-country']) for d in frames)  # a copy of a column the encoder saw (a leak in real use, hidden by the new name): these tests check the loaders
    with pytest.raises(TabaeInputError, match=r"Target column\(s\) have missing or infinite values \(rows per column: \{'country': \d+\}\)"):
        codes_dls(small_learn, train, 'country', valid_df=test)
    known = train.dropna(subset=['country'])
    only_held_out = sorted(set(test['country'].dropna()) - set(known['country']))
    with pytest.raises(TabaeInputError, match=rf"Target 'country' has \d+ class\(es\) in the validation rows that no training row has.*'{only_held_out[0]}'"):
        codes_dls(small_learn, known, 'country', valid_df=test.dropna(subset=['country']))
    dls = codes_dls(small_learn, known, 'country', valid_df=test[test['country'].isin(set(known['country']))])
    assert dls.train_ds.ys.max().item() < len(dls.vocab) and dls.valid_ds.ys.max().item() < len(dls.vocab)
    as_category = lambda d: d.assign(salary=pd.Categorical(d.salary, categories=['<=50K', '>50K', 'unused']))  # a category lists classes with no rows
    assert list(codes_dls(small_learn, as_category(train), 'salary', valid_df=as_category(test)).vocab) == ['<=50K', '>50K']
    odd = as_category(test).assign(salary=lambda d: d.salary.cat.add_categories('X'))
    odd.loc[odd.index[:3], 'salary'] = 'X'
    with pytest.raises(TabaeInputError, match=r"no training row has.*\(rows per class: \{'X': 3\}\)"): codes_dls(small_learn, as_category(train), 'salary', valid_df=odd)
    num, text = train.assign(num=np.arange(len(train))), test.assign(num=[str(i) for i in range(len(test))])  # a number target read as text on one side: named
    for other in (text, text.assign(num=pd.Categorical(range(len(text))))):  # text, or categories of numbers
        with pytest.raises(TabaeInputError, match='^' + re.escape(f"Target(s) ['num'] would be read as numbers in one frame and as classes in the other ('num': int64 in `df`, "
                                                              f"{other.num.dtype} in `valid_df`), so none would match: give both the same dtype, e.g. "
                                                              "`valid_df['num'] = valid_df['num'].astype(df['num'].dtype)`") + '$'):
            codes_dls(small_learn, num, 'num', valid_df=other)
    assert list(codes_dls(small_learn, train.assign(salary=train.salary.astype('category')), 'salary', valid_df=test).vocab) == ['<=50K', '>50K']  # classes both ways
    rich = lambda d: d.assign(rich=d.salary == '>50K')  # booleans are classes to fastai, as a categorical of them is
    assert list(codes_dls(small_learn, rich(train), 'rich', valid_df=rich(test).assign(rich=lambda d: d.rich.astype('category'))).vocab) == [False, True]
    with pytest.raises(TabaeInputError, match=r"\['rich'\] would be read as numbers in one frame and as classes in the other \('rich': bool in `df`, int64 in `valid_df`\)"):
        codes_dls(small_learn, rich(train), 'rich', valid_df=rich(test).astype({'rich': 'int64'}))
    with pytest.raises(TabaeInputError) as e: codes_dls(small_learn, num.assign(num=num.num.astype(str)), 'num', valid_df=text.assign(num=text.num + 'x'))  # 400 classes, none in training
    assert str(e.value).startswith("Target 'num' has 400 class(es) in the validation rows that no training row has") and "'...': '390 more classes'}): drop those rows" in str(e.value)

def test_several_categorical_targets_and_repeats_are_named(small_learn, frames):
    "Two categorical targets built loaders `tabular_learner` could not train on (a batch-size mismatch in its loss); a target given twice failed inside pandas; several float targets still work."
    train, test = (d.assign(gender=d.sex, a=d.age.astype(float), h=d['hours-per-week'].astype(float)) for d in frames)  # copies of columns the encoder saw (a leak in real use, hidden by the new names): these tests check the loaders
    with pytest.raises(TabaeInputError, match=r"one categorical target .*got \['salary', 'gender'\]"): codes_dls(small_learn, train, ['salary', 'gender'], valid_df=test)
    with pytest.raises(TabaeInputError, match=r"\['a'\] are given more than once"): codes_dls(small_learn, train, ['a', 'a'], valid_df=test)
    assert codes_dls(small_learn, train, ['a', 'h'], valid_df=test).c == 2

def test_codes_dls_takes_the_target_block(small_learn, frames):
    "`y_block` reaches fastai (it was passed to the data loaders and ignored): int classes are classified when asked, regressed by default as fastai does, with a warning when there are two of them (a 0/1 target)."
    train, test = frames
    y = lambda d: d.assign(rich=(d.salary == '>50K').astype(int))
    for f in (y, lambda d: y(d).astype({'rich': float})):  # 0.0/1.0 too
        with pytest.warns(UserWarning, match=r"\['rich'\] hold two whole numbers, and fastai regresses.*y_block=CategoryBlock\(\)"):
            assert codes_dls(small_learn, f(train), 'rich', valid_df=f(test)).c == 1
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)  # asked for by name: no warning
        warnings.simplefilter('ignore', UnseenCategoryWarning)
        assert codes_dls(small_learn, y(train), 'rich', valid_df=y(test), y_block=RegressionBlock()).c == 1
        dls = codes_dls(small_learn, y(train), 'rich', valid_df=y(test), y_block=CategoryBlock())
    assert dls.c == 2 and list(dls.vocab) == [0, 1]

def test_regression_on_a_text_target_is_named(small_learn, frames):
    "`RegressionBlock` on a text target failed inside torch ('can't convert np.ndarray of type numpy.object_'); numbers still regress."
    train, test = frames
    with pytest.raises(TabaeInputError, match=r"regression target must hold numbers, got \{'salary': '(object|str)'\}.*CategoryBlock"):
        codes_dls(small_learn, train, 'salary', valid_df=test, y_block=RegressionBlock())
    years = lambda d: d.assign(years=d.age)  # a copy of a column the encoder saw (a leak in real use): this test checks the block
    assert codes_dls(small_learn, years(train), 'years', valid_df=years(test), y_block=RegressionBlock()).c == 1

def test_codes_dls_on_held_out_rows_fits(small_learn, frames):
    train, valid = frames
    dls = small_learn.codes_dls(train, 'salary', valid_df=valid, bs=128)
    assert len(dls.train_ds) == len(train) and len(dls.valid_ds) == len(valid)
    assert list(dls.train_ds.cont_names) == CODES and list(dls.train_ds.cat_names) == []
    dec = dls.valid_ds.new(dls.valid_ds.items.copy()).decode().items  # the held-out rows, in order
    assert dec['salary'].tolist() == valid['salary'].tolist()
    np.testing.assert_allclose(dec[CODES].to_numpy(), encode(small_learn, valid).to_numpy(), atol=1e-3)
    set_seed(0)
    clf = tabular_learner(dls, layers=[32], metrics=accuracy)
    with clf.no_bar(), clf.no_logging(): clf.fit_one_cycle(1, 1e-2)
    loss, acc = clf.validate()
    assert np.isfinite(loss) and 0.5 < acc <= 1
    preds, _ = clf.get_preds()
    assert preds.shape == (len(valid), 2)
    assert clf.predict(small_learn.codes_frame(valid.iloc[:1]).iloc[0])[2].shape == (2,)
    with pytest.raises(TabaeInputError, match=r"Column\(s\) \['ae_0', 'ae_1', .*'ae_15'\] are missing: a model on codes takes the rows of `codes_frame`"):
        clf.predict(valid.iloc[0])  # the raw row: fastai said KeyError: 'ae_0'

def test_codes_dls_split_and_raw_columns(small_learn, frames):
    train, _ = frames
    dls = codes_dls(small_learn, train, 'salary', keep_raw=True, valid_pct=0.25, seed=0, bs=128)
    assert len(dls.valid_ds) == 300 and len(dls.train_ds) == 900
    assert list(dls.train_ds.cat_names) == CATS and list(dls.train_ds.cont_names) == CODES + CONTS
    again = codes_dls(small_learn, train, 'salary', valid_pct=0.25, seed=0, bs=128)
    assert dls.valid_ds.items.index.tolist() == again.valid_ds.items.index.tolist()  # seeded
    torch.manual_seed(5); want = torch.rand(3)
    torch.manual_seed(5); codes_dls(small_learn, train, 'salary', valid_pct=0.25, seed=0, bs=128)
    assert torch.equal(torch.rand(3), want)  # the caller's torch stream left alone: not reseeded by the split
    valid_df = train.iloc[:50].assign(education='Rare-in-valid')  # a raw class only validation rows have: '#na#', as the encoder codes it, not an embedding that never trains
    dls = codes_dls(small_learn, train, 'salary', keep_raw=True, valid_df=valid_df, bs=128)
    assert 'Rare-in-valid' not in dls.classes['education'] and (dls.valid_ds.items['education'] == 0).all()

def test_codes_dls_takes_nullable_numbers_and_index_targets(small_learn, frames):
    "Raw nullable numbers (`Int64`, `Float64` with gaps) batch as floats, targets may be a pandas Index, and a target that is also a feature is refused under `keep_raw`."
    train, _ = frames
    odd = train.astype({'age': 'Int64', 'hours-per-week': 'Float64'})
    odd.loc[odd.index[:5], 'age'] = pd.NA
    odd['race'] = odd['race'].astype('string')
    odd.loc[odd.index[5:8], 'race'] = pd.NA
    dls = codes_dls(small_learn, odd, pd.Index(['salary']), keep_raw=True, bs=128)
    assert list(dls.train_ds.y_names) == ['salary'] and len(dls.train_ds.cont_names) == len(CODES + CONTS)
    assert np.isfinite(dls.one_batch()[1].numpy()).all()
    raw = codes_frame(small_learn, odd, 'salary', keep_raw=True)
    assert raw['age'].dtype == np.float64 and raw['age'].isna().sum() == 5 and raw['race'].isna().sum() == 3
    assert np.allclose(raw['hours-per-week'], train['hours-per-week'])
    for keep_raw in (True, False):  # without `keep_raw` each row's code held its own target, silently: held-out accuracy 0.880 against 0.816
        with pytest.raises(TabaeInputError, match=r"Target\(s\) \['age'\] are also columns the encoder was trained on, so each row's code holds its own target"):
            codes_frame(small_learn, train, 'age', keep_raw=keep_raw)
        with pytest.raises(TabaeInputError, match=r"Target\(s\) \['sex'\] are also columns the encoder was trained on"): codes_dls(small_learn, train, ['sex'], keep_raw=keep_raw)

def test_codes_dls_checks_its_validation_rows_and_targets(small_learn, frames):
    "`valid_idx` holds positions (index labels out of range failed inside pandas, labels in range picked other rows silently), `valid_df` and `valid_idx` together are refused (`valid_idx` was ignored), an infinite regression target is named as a missing one is (it trained to a nan loss), and `valid_pct` and `bs` are checked."
    train, test = (d.assign(y=d.age.astype(float)) for d in frames)
    shuffled = train.sample(frac=1, random_state=0)
    with pytest.raises(TabaeInputError, match=r"`valid_idx` must hold row positions in \[0, \d+\) \(not index labels\)"): codes_dls(small_learn, shuffled, 'y', valid_idx=[10**6, 3])
    with pytest.raises(TabaeInputError, match=r"`valid_df` .* or `valid_idx` .*, not both"): codes_dls(small_learn, train, 'y', valid_df=test, valid_idx=[0, 1])
    bad = train.copy()
    bad.loc[bad.index[:2], 'y'] = np.inf
    with pytest.raises(TabaeInputError, match=r"missing or infinite values \(rows per column: \{'y': 2\}\)"): codes_dls(small_learn, bad, 'y')
    for kw, msg in ((dict(valid_pct=-0.2), r'`valid_pct` must be in \[0, 1\), got -0.2'), (dict(valid_pct=1.5), r'`valid_pct` must be in \[0, 1\), got 1.5'),
                    (dict(bs=0), '`bs` must be a positive int, got 0')):  # a negative share split 40/160, 0 rows a batch divided by zero
        with pytest.raises(TabaeInputError, match=msg): codes_dls(small_learn, train, 'y', **kw)
    assert len(codes_dls(small_learn, train, 'y', valid_df=test, valid_pct=None).valid_ds) == len(test)  # not used with `valid_df`: not checked
    dls = codes_dls(small_learn, shuffled, 'y', valid_idx=[5, 2, 5])
    assert dls.valid_ds.ys['y'].tolist() == shuffled['y'].iloc[[5, 2]].tolist() and len(dls.train_ds) == len(train) - 2

def test_codes_dls_keeps_float_categories_and_large_numbers():
    "Raw float columns are not shrunk to float32 in `codes_dls` either: float classes match new rows, large numbers keep their spread; a nullable int category with gaps batches."
    r = np.random.default_rng(0)
    df = pd.DataFrame({'fc': r.choice([0.1, 0.2, 0.3], 300), 'k': pd.array(r.choice([1, 2, None], 300), dtype='Int64'),
                       'big': 1e8 + r.integers(0, 10, 300), 'y': r.choice(['a', 'b'], 300)})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, ['fc', 'k'], ['big'], code_size=4, layers=[16], epochs=1, bs=64, progress=False)
    dls = codes_dls(learn, df, 'y', keep_raw=True, bs=64)
    assert dls.one_batch()[0].shape == (64, 2)  # fc, k
    assert list(dls.train_ds.classes['fc'])[1:] == [0.1, 0.2, 0.3]
    assert (dls.test_dl(codes_frame(learn, df.iloc[:20], 'y', keep_raw=True)).items['fc'] > 0).all()  # matched, not '#na#'
    assert abs(dls.train_ds.procs.normalize.stds['big'] - df['big'].iloc[list(dls.train.items.index)].std(ddof=0)) < 0.05

def test_codes_frame_raw_columns_with_int_names():
    "Int column names (a frame built from an array) with a nullable number keep their names under `keep_raw`."
    r = np.random.default_rng(0)
    df = pd.DataFrame({0: r.choice(['x', 'y'], 200), 1: r.normal(size=200), 2: r.normal(size=200), 'y': r.choice(['a', 'b'], 200)})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, [0], [1, 2], code_size=4, layers=[16], epochs=1, bs=64, progress=False)
    raw = codes_frame(learn, df.astype({1: 'Float64'}), 'y', keep_raw=True)
    assert list(raw.columns[-4:]) == [0, 1, 2, 'y'] and raw[1].dtype == np.float64 and np.allclose(raw[1], df[1])

def test_keep_raw_takes_arrow_integer_categories_with_gaps(small_learn, frames):
    "A raw `int64[pyarrow]` column with gaps (a parquet read with Arrow dtypes) batches as its classes (it failed on `pd.NA`)."
    train, _ = frames
    df = train.assign(n=np.arange(len(train)) % 4).astype({'n': 'int64[pyarrow]'})
    df.loc[df.index[:5], 'n'] = pd.NA
    learn = fit_autoencoder(df, ['n'], ['age'], code_size=4, layers=[16], epochs=1, progress=False)
    dls = codes_dls(learn, df, 'salary', keep_raw=True, bs=64)
    assert list(dls.train_ds.classes['n']) == ['#na#', 0, 1, 2, 3]
    dls.one_batch()

def test_codes_dls_takes_procs_and_loader_arguments(small_learn, frames):
    "Batches of 256 by default; `procs` replaces the default procs, and fastai's loader arguments (`val_bs`) reach the loaders."
    train, _ = frames
    dls = codes_dls(small_learn, train, 'salary')
    assert dls.train.bs == dls.valid.bs == 256 and any(isinstance(p, Normalize) for p in dls.train_ds.procs)
    dls = codes_dls(small_learn, train, 'salary', procs=[Categorify, FillMissing], val_bs=32)
    assert dls.valid.bs == 32 and not any(isinstance(p, Normalize) for p in dls.train_ds.procs)

def test_a_training_split_smaller_than_the_batch_is_named(small_learn, frames):
    "240 training rows and the default `bs=256` gave fastai a training loader with no batch (a fit that trained nothing): named, with a `bs` that works."
    small = frames[0].iloc[:300]
    with pytest.raises(TabaeInputError, match=r"training split has 240 row\(s\), fewer than `bs`=256.*`bs=32`"): codes_dls(small_learn, small, 'salary')
    assert len(codes_dls(small_learn, small, 'salary', bs=32).train) == 7 and len(codes_dls(small_learn, small, 'salary', drop_last=False).train) == 1

def test_columns_named_like_the_codes_are_named(small_learn, frames):
    "A target, or with `keep_raw` a raw column, named like a code column (`ae_0`, ...) failed inside pandas on the duplicate names."
    train = frames[0].assign(ae_3=1.)
    for f in (codes_frame, codes_dls):
        with pytest.raises(TabaeInputError, match=r"\['ae_3'\] have the names of the code columns \(ae_0 .. ae_15\)"): f(small_learn, train, 'ae_3')
    learn = fit_autoencoder(train.iloc[:400], ['race'], ['ae_3', 'age'], code_size=4, layers=[8], epochs=1, progress=False)
    with pytest.raises(TabaeInputError, match=r"\['ae_3'\] have the names"): codes_frame(learn, train, 'salary', keep_raw=True)
    assert list(codes_frame(learn, train, 'salary').columns) == ['ae_0', 'ae_1', 'ae_2', 'ae_3', 'salary']  # without the raw columns there is no clash

def test_raw_columns_with_infinities_or_late_gaps_train_and_predict():
    "`keep_raw`: an inf in a raw float column made `Normalize`'s mean inf and every value of it NaN (NaN losses, NaN predictions for new rows); a gap in validation or new rows of a column without training gaps failed in fastai's `FillMissing` (an assertion). Both are filled as gaps."
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({'k': rng.choice(['a', 'b'], n), 'F': rng.normal(size=n), 'G': rng.normal(size=n), 'y': rng.choice(['p', 'q'], n)})
    learn = fit_autoencoder(df, ['k'], ['F', 'G'], epochs=1, layers=[16], code_size=4, progress=False)
    inf = df.copy(); inf.loc[[3, 50], 'F'] = np.inf
    assert np.isnan(learn.codes_frame(inf, keep_raw=True).loc[[3, 50], 'F']).all()
    dls = learn.codes_dls(inf, 'y', keep_raw=True, valid_idx=list(range(240, 300)), bs=32)
    assert np.isfinite(dls.train_ds.procs.normalize.means['F']) and np.isfinite(dls.train_ds.items['F']).all() and 'F_na' in dls.train_ds.cat_names
    fm = dls.train_ds.procs.fill_missing  # under fastai's name, and it pickles as itself
    assert type(pickle.loads(pickle.dumps(fm))) is type(fm) and fm.na_dict.keys() == {'F'}
    new = df.iloc[:20].copy(); new.loc[new.index[:3], 'F'] = [np.inf, -np.inf, np.nan]; new.loc[new.index[3], 'G'] = np.nan  # G: no training gaps
    clf = tabular_learner(dls, layers=[8])
    with clf.no_bar(): probs = clf.get_preds(dl=clf.dls.test_dl(learn.codes_frame(new, keep_raw=True)))[0]
    assert torch.isfinite(probs).all()
    valid = df.iloc[240:].copy(); valid.loc[valid.index[:5], 'G'] = np.nan
    dls = learn.codes_dls(df.iloc[:240], 'y', keep_raw=True, valid_df=valid, bs=32)
    v = dls.valid_ds.new(dls.valid_ds.items.copy()).decode().items
    assert 'G_na' not in dls.train_ds.cat_names and np.allclose(v['G'].iloc[:5], df['G'].iloc[:240].median(), atol=1e-4)  # FillMissing's median of the training rows, no flag
    dls = learn.codes_dls(df.iloc[:240], 'y', keep_raw=True, valid_df=valid, bs=32, procs=[Categorify, FillMissing(FillStrategy.mode, add_col=False), Normalize])  # an instance: its settings kept
    v = dls.valid_ds.new(dls.valid_ds.items.copy()).decode().items
    assert dls.train_ds.procs.fill_missing.add_col is False and np.allclose(v['G'].iloc[:5], FillStrategy.mode(df['G'].iloc[:240], 0), atol=1e-4)

def test_codes_are_normalized_a_column_at_a_time_as_fastai_normalizes_them(small_learn, frames):
    "`codes_dls` swaps fastai's `Normalize` (class or instance) for one that works a column at a time in float64 (fastai's held float64 copies of every column at once: benchmarks/codes_dls_memory.py): the same statistics and batches to float32's precision, codes stored as float32, raw floats as float64; it pickles as itself and decodes back to the codes."
    class FastaiNormalize(Normalize): pass  # kept as given
    train, test = frames
    ours, theirs = (codes_dls(small_learn, train, 'salary', keep_raw=True, valid_df=test, procs=[Categorify, FillMissing, n]) for n in (Normalize(), FastaiNormalize))
    a, b = ours.train_ds.procs.normalize, theirs.train_ds.procs.fastai_normalize
    assert type(a).__name__ == 'Normalize' and type(a) is not Normalize and type(b) is FastaiNormalize
    for c in b.means: assert a.means[c] == pytest.approx(b.means[c], rel=1e-5, abs=1e-6) and a.stds[c] == pytest.approx(b.stds[c], rel=1e-5), c
    items = ours.train_ds.items
    assert items['ae_0'].dtype == np.float32 and items['age'].dtype == np.float64 and theirs.train_ds.items['ae_0'].dtype == np.float64
    for x, y in zip(ours.valid.one_batch(), theirs.valid.one_batch()): torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)
    assert type(pickle.loads(pickle.dumps(a))) is type(a)
    gaps = train.assign(age=train.age.where(np.arange(len(train)) % 10 != 0))  # no `FillMissing`: the gaps are left out of the statistics and stay gaps, as fastai's
    raw = [codes_dls(small_learn, gaps, 'salary', keep_raw=True, procs=[Categorify, n], seed=0).train_ds for n in (Normalize, FastaiNormalize)]
    assert raw[0].procs.normalize.means['age'] == pytest.approx(raw[1].procs.fastai_normalize.means['age']) and raw[0].items['age'].isna().mean() == pytest.approx(0.1, abs=0.01)
    decoded = ours.valid_ds.new(ours.valid_ds.items.copy()).decode().items
    np.testing.assert_allclose(decoded[[f'ae_{i}' for i in range(16)]].to_numpy(), encode(small_learn, test).to_numpy(), atol=1e-4)

def test_a_raw_column_named_c_is_named_with_the_way_round():
    "fastai's procs answer `dls.c` with the classes of a categorical column named 'c', and `tabular_learner(dls)` failed with a TypeError about `empty()`: a warning gives the `n_out` that works."
    rng = np.random.default_rng(0)
    df = pd.DataFrame({'c': rng.choice(['a', 'b'], 200), 'F': rng.normal(size=200), 'y': rng.choice(['p', 'q', 'r'], 200)})
    learn = fit_autoencoder(df, ['c'], ['F'], epochs=1, layers=[16], code_size=4, progress=False)
    with pytest.warns(UserWarning, match=r"'c' hides fastai's `dls.c` \(the number of outputs, here 3\).*n_out=3"): dls = learn.codes_dls(df, 'y', keep_raw=True, bs=32)
    clf = tabular_learner(dls, n_out=3, layers=[8])
    with clf.no_bar(), clf.no_logging(): clf.fit(1)
    assert clf.get_preds(dl=clf.dls.valid)[0].shape[1] == 3
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        learn.codes_dls(df, 'y', bs=32)  # no raw columns: no warning

def test_keep_raw_matches_categories_by_value_as_the_encoder_does(tmp_path):
    "New rows read with another dtype (a CSV column of numbers with one word in training, all numbers in the new file) keep their raw classes under `keep_raw`, matched by value as the encoder matches them; every row was '#na#' downstream. Values no encoder class matches stay as they are."
    from tabae import read_table
    r = np.random.default_rng(0)
    df = pd.DataFrame({'z': r.choice(['1', '2', '3', 'A'], 300), 'x': r.normal(size=300), 'y': r.choice(['a', 'b'], 300)})
    df.to_csv(tmp_path / 'tr.csv', index=False)
    df[df.z != 'A'].to_csv(tmp_path / 'te.csv', index=False)
    tr, te = read_table(tmp_path / 'tr.csv'), read_table(tmp_path / 'te.csv')
    assert te['z'].dtype.kind == 'i'
    learn = fit_autoencoder(tr, ['z'], ['x'], code_size=4, layers=[16], epochs=1, bs=64, progress=False)
    dls = codes_dls(learn, tr, 'y', keep_raw=True, bs=64)
    items = dls.test_dl(codes_frame(learn, te, keep_raw=True)).items
    assert [dls.train_ds.classes['z'][i] for i in items['z']] == te['z'].astype(str).tolist()
    assert codes_frame(learn, tr.assign(z=['B'] + list(tr.z[1:])), keep_raw=True)['z'].iloc[0] == 'B'
