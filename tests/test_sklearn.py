"""`TabularAEEncoder` as scikit-learn sees it: its estimator checks, a real Pipeline and ColumnTransformer on Adult, column inference.

scikit-learn's checks that do not run, and why:
- `check_array_api_input`: skipped by scikit-learn unless `SCIPY_ARRAY_API=1`; the encoder reads pandas/NumPy input only.
- `check_estimators_nan_inf`: not yielded because the encoder has the `allow_nan` tag: missing values are a category, or
  filled (with a `<col>_na` flag column) as in fastai, and infinities are read as missing.
- the `sample_weight` checks: not yielded, `fit` takes no `sample_weight`.
- `check_set_output_transform_polars`, `check_global_set_output_transform_polars`: polars is not a dependency; they run when it is installed.
None is expected to fail: `parametrize_with_checks` gets no `expected_failed_checks`.
"""
import os, pickle, re, subprocess, sys, warnings
import numpy as np, pandas as pd, pytest, torch
from fastai.torch_core import default_device
import sklearn.utils.estimator_checks as ec
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from tabae import TabaeInputError, TabularAEEncoder, adult_columns, encode, infer_columns, reconstruct

SMALL = dict(code_size=8, layers=(32, 16), epochs=1, bs=64)
CATS, CONTS = adult_columns('adult-14')

@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield

@parametrize_with_checks([TabularAEEncoder(**SMALL)])
def test_sklearn_estimator_checks(estimator, check): check(estimator)

DATAFRAME_CHECKS = ['check_dataframe_column_names_consistency', 'check_get_feature_names_out_error', 'check_transformer_get_feature_names_out',
                    'check_transformer_get_feature_names_out_pandas', 'check_set_output_transform', 'check_set_output_transform_pandas',
                    'check_global_output_transform_pandas', 'check_set_output_transform_polars', 'check_global_set_output_transform_polars']

@pytest.mark.parametrize('name', DATAFRAME_CHECKS)
def test_sklearn_dataframe_checks(name):
    "The DataFrame and feature-name checks that scikit-learn runs on its own transformers but `parametrize_with_checks` does not yield."
    if 'polars' in name: pytest.importorskip('polars')
    getattr(ec, name)('TabularAEEncoder', TabularAEEncoder(**SMALL))

@pytest.fixture(scope='module')
def xy(adult_df):
    df = adult_df.sample(2000, random_state=0)
    return df[CATS + CONTS], df['salary']

def test_pipeline_cross_val_score_on_adult(xy):
    "Codes in front of gradient boosting, refit in each fold: better than predicting the majority class."
    X, y = xy
    pipe = make_pipeline(TabularAEEncoder(code_size=8, layers=(32, 16), epochs=3, bs=128), HistGradientBoostingClassifier(max_iter=30, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    base = cross_val_score(DummyClassifier(), X, y, cv=3)
    assert scores.mean() > base.mean() + 0.02, (scores, base)

def test_grid_search_over_numpy_grids(xy):
    "A grid of numpy scalars (`np.arange`, `np.linspace`) reaches the encoder as sizes and rates it takes."
    X, y = xy
    pipe = make_pipeline(TabularAEEncoder(layers=(16,), epochs=1, bs=128), LogisticRegression(max_iter=500))
    grid = {'tabularaeencoder__code_size': np.arange(4, 9, 4), 'tabularaeencoder__lr': np.linspace(2e-3, 5e-3, 2, dtype=np.float32)}
    search = GridSearchCV(pipe, grid, cv=2, error_score='raise').fit(X, y)
    assert len(search.cv_results_['params']) == 4 and np.isfinite(search.cv_results_['mean_test_score']).all()
    assert type(search.best_estimator_[0].learn_.model.code_size) is int  # a plain int, as `save_encoder`'s JSON needs

def test_column_transformer_codes_beside_raw_columns(xy):
    X, y = xy
    ct = ColumnTransformer([('ae', TabularAEEncoder(CATS, CONTS, **SMALL), CATS + CONTS), ('raw', 'passthrough', ['age', 'hours-per-week'])])
    ct.set_output(transform='pandas')
    out = ct.fit_transform(X)
    assert list(out.columns) == [f'ae__ae_{i}' for i in range(8)] + ['raw__age', 'raw__hours-per-week']
    assert out.index.equals(X.index) and out.notna().all().all()
    pipe = Pipeline([('features', ct), ('hgb', HistGradientBoostingClassifier(max_iter=10))]).fit(X.iloc[:1500], y.iloc[:1500])
    assert pipe.score(X.iloc[1500:], y.iloc[1500:]) > 0.7

def test_infers_columns_from_dtypes(adult_df):
    enc = TabularAEEncoder(**SMALL).fit(adult_df.iloc[:500])
    assert enc.cat_names_ == [c for c in adult_df.columns if c not in CONTS] and 'salary' in enc.cat_names_
    assert enc.cont_names_ == [c for c in adult_df.columns if c in CONTS] and list(enc.feature_names_in_) == list(adult_df.columns)
    assert infer_columns(adult_df, cat_names=['education-num']) == (['education-num'], [c for c in adult_df.columns if c in CONTS and c != 'education-num'])
    assert infer_columns(adult_df, cont_names=[]) == ([c for c in adult_df.columns if c not in CONTS], [])
    enc = TabularAEEncoder(cat_names=['sex'], **SMALL).fit(adult_df.iloc[:500])
    assert enc.cat_names_ == ['sex'] and set(enc.cont_names_) == set(CONTS)

def test_max_card_makes_integer_codes_categorical(adult_df):
    "`max_card`, as fastai's `cont_cat_split`: integer columns (nullable ones too) of at most that many values are categorical; floats, wider integer columns and given lists stay as they are; a bad value is named."
    from fastai.tabular.all import cont_cat_split
    df = adult_df.iloc[:500].assign(region=np.arange(500) % 12 + 1, rating=pd.array([1, 2, 3, 4, None] * 100, dtype='Int64'), share=np.arange(500) % 5 / 4)
    cats, conts = infer_columns(df.drop(columns='salary'), max_card=20)
    want_conts, want_cats = cont_cat_split(df, max_card=20, dep_var='salary')
    assert (cats, conts) == (want_cats, want_conts) and {'region', 'rating', 'education-num'} <= set(cats) and {'share', 'age'} <= set(conts)
    assert infer_columns(df, max_card=None)[1] == [c for c in df.columns if c in CONTS + ['region', 'rating', 'share']]
    assert infer_columns(df, cont_names=['region'], max_card=20)[1] == ['region']
    assert infer_columns(df, cat_names=['sex'], max_card=20) == (['sex'], [c for c in df.columns if c in CONTS + ['region', 'rating', 'share']])  # a given `cat_names` is the user's: no column dropped
    enc = TabularAEEncoder(max_card=20, **SMALL).fit(df.drop(columns='salary'))
    assert enc.cat_names_ == cats and enc.cont_names_ == conts
    old = TabularAEEncoder(**SMALL)
    del old.max_card  # as unpickled from before `max_card`
    assert old.get_params()['max_card'] is None and 'TabularAEEncoder' in repr(clone(old))
    for bad in (-1, 2.5, '20'):
        with pytest.raises(TabaeInputError, match=rf"`max_card` must be None or an int >= 0 .*got {re.escape(repr(bad))}"): infer_columns(df, max_card=bad)

@pytest.mark.parametrize('kw,match', [(dict(cat_names=['age'], cont_names=['age']), r"\['age'\] are in both"),
                                      (dict(cat_names=['nope']), r"\['nope'\].*missing"),
                                      (dict(cat_names=[], cont_names=[]), 'No columns to encode'),
                                      (dict(cont_names=['sex']), "'sex' must be numeric")])
def test_bad_columns_are_named(adult_df, kw, match):
    with pytest.raises(TabaeInputError, match=match): TabularAEEncoder(**kw, **SMALL).fit(adult_df.iloc[:200])

def test_transform_needs_the_fitted_columns(adult_df):
    df = adult_df[CATS + CONTS].iloc[:300]
    enc = TabularAEEncoder(**SMALL).fit(df)
    with pytest.raises(ValueError, match='age'): enc.transform(df.drop(columns='age'))
    codes = enc.transform(df)
    assert codes.shape == (300, 8) and codes.dtype == np.float32 and np.isfinite(codes).all()
    assert list(enc.get_feature_names_out()) == [f'ae_{i}' for i in range(8)]

def test_inverse_transform_is_reconstruct(adult_df):
    "Decoding the codes rebuilds exactly what `reconstruct` rebuilds from the rows, in labels and original units."
    df = adult_df[CATS + CONTS].iloc[:400]
    enc = TabularAEEncoder(**SMALL).fit(df)
    back = enc.inverse_transform(encode(enc.learn_, df, mixed_precision=False))  # float32 codes: the decoder sees what reconstruct's does
    ref = reconstruct(enc.learn_, df)
    assert list(back.columns) == CATS + CONTS and back.index.equals(df.index)
    pd.testing.assert_frame_equal(back[CATS].astype(str), ref[CATS].astype(str))
    np.testing.assert_allclose(back[CONTS].to_numpy(float), ref[CONTS].to_numpy(float), rtol=1e-4, atol=1e-3)
    for n in (3, 9):
        with pytest.raises(ValueError, match=f'X has {n} features, but TabularAEEncoder makes codes of 8'): enc.inverse_transform(np.zeros((2, n)))

def test_inverse_transform_keeps_the_fitted_column_order(adult_df):
    "`inverse_transform` gives the columns in the order `fit` saw them (it gave categorical columns first, so an array's columns lined up wrongly)."
    df = adult_df.drop(columns='salary').iloc[:300]
    enc = TabularAEEncoder(**SMALL).fit(df)
    assert list(enc.inverse_transform(enc.transform(df)).columns) == list(df.columns)
    enc = TabularAEEncoder(**SMALL).fit(df.to_numpy())
    assert list(enc.inverse_transform(enc.transform(df.to_numpy())).columns) == [f'x{i}' for i in range(df.shape[1])]

def test_rows_as_lists_and_unnamed_columns(adult_df):
    "Rows given as Python lists keep their numbers numeric (numpy made every value text); columns without string names (an array's too) may be named by their labels (an array's positions) or `x0, x1, ...`."
    df = adult_df.drop(columns='salary').iloc[:300]
    enc = TabularAEEncoder(**SMALL).fit(df.to_numpy().tolist())
    assert enc.cont_names_ == [f'x{i}' for i, c in enumerate(df.columns) if c in CONTS]
    unnamed = df.set_axis(range(df.shape[1]), axis=1)  # as `read_csv(header=None)` reads them
    for cats in ([1, 3], ['x1', 'x3']):
        assert TabularAEEncoder(cat_names=cats, cont_names=[0], **SMALL).fit(unnamed).cat_names_ == ['x1', 'x3']
        assert TabularAEEncoder(cat_names=cats, cont_names=[0], **SMALL).fit(unnamed.to_numpy()).cat_names_ == ['x1', 'x3']  # an array's positions too (they were missing columns)

def test_layers_given_as_one_number_is_named(adult_df):
    with pytest.raises(TabaeInputError, match=r'`layers`.*256'): TabularAEEncoder(**{**SMALL, 'layers': 256}).fit(adult_df.iloc[:200])

def test_clone_and_set_params_refit(adult_df):
    df = adult_df[CATS + CONTS].iloc[:300]
    enc = TabularAEEncoder(**SMALL)
    assert clone(enc).get_params() == enc.get_params()
    enc.set_params(code_size=4, fit_kwargs={'swap_p': 0.})
    assert enc.fit(df).transform(df).shape == (300, 4) and enc.learn_.model.noise.p == 0.
    assert not hasattr(clone(enc), 'learn_')

def test_fitted_encoder_keeps_no_training_rows(adult_df):
    enc = TabularAEEncoder(**SMALL).fit(adult_df.iloc[:300])
    assert len(enc.learn_.dls.train_ds) == 0 and enc.learn_.opt is None

def test_fit_kwargs_override_any_argument(adult_df):
    "`fit_kwargs` may repeat an argument the estimator also has (here `epochs` and `bs`): it wins, with no clash."
    df = adult_df[CATS + CONTS].iloc[:300]
    enc = TabularAEEncoder(code_size=4, layers=(8,), epochs=3, fit_kwargs={'epochs': 1, 'bs': 64}).fit(df)
    assert len(enc.learn_.recorder.values) == 1

def test_pickle_round_trip(adult_df):
    "A pickled encoder gives the same codes once unpickled, with its model on the default device."
    df = adult_df[CATS + CONTS].iloc[:300]
    enc = TabularAEEncoder(**SMALL).fit(df)
    back = pickle.loads(pickle.dumps(enc))
    assert next(back.learn_.model.parameters()).device.type == default_device().type
    np.testing.assert_array_equal(back.transform(df), enc.transform(df))
    import tabae.sklearn
    with pytest.MonkeyPatch.context() as mp:  # where the default device is a GPU, the model goes there (checked here with the meta device)
        mp.setattr(tabae.sklearn, 'default_device', lambda *a: torch.device('meta'))
        assert next(pickle.loads(pickle.dumps(enc)).learn_.model.parameters()).device.type == 'meta'

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.cuda
def test_gpu_fitted_encoder_unpickles_without_gpu(adult_df, tmp_path):
    "An encoder fitted on the GPU unpickles and encodes in a process that sees no GPU, with the codes of the same weights on the CPU."
    df = adult_df[CATS + CONTS].iloc[:300]
    enc = TabularAEEncoder(**SMALL).fit(df)
    assert next(enc.learn_.model.parameters()).is_cuda
    (tmp_path / 'enc.pkl').write_bytes(pickle.dumps(enc))
    df.to_pickle(tmp_path / 'df.pkl')
    code = ("import pickle, sys, numpy as np, pandas as pd; p = sys.argv[1]; "
            "enc = pickle.load(open(p + '/enc.pkl', 'rb')); np.save(p + '/codes.npy', enc.transform(pd.read_pickle(p + '/df.pkl')))")
    subprocess.run([sys.executable, '-c', code, str(tmp_path)], check=True, env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''})
    cpu = pickle.loads(pickle.dumps(enc))
    cpu.learn_.model.cpu()
    np.testing.assert_array_equal(np.load(tmp_path / 'codes.npy'), cpu.transform(df))

def test_inverse_transform_keeps_the_codes_index_and_valid_pct_reaches_the_fit(adult_df):
    "Codes in a DataFrame under their own index come back under it, each row rebuilt from its own code; `valid_pct` is the split the fit holds out."
    from fastai.callback.core import Callback
    df, seen = adult_df[CATS + CONTS].iloc[:300], []
    class Spy(Callback):
        def before_fit(self): seen.append((len(self.dls.train_ds), len(self.dls.valid_ds)))
    enc = TabularAEEncoder(**SMALL, valid_pct=0.5, fit_kwargs={'cbs': [Spy()]}).fit(df)
    perm = np.random.default_rng(0).permutation(len(df))
    codes = pd.DataFrame(enc.transform(df), index=[f'r{i}' for i in perm])
    back = enc.inverse_transform(codes)
    assert back.index.equals(codes.index)
    shuffled = enc.inverse_transform(codes.iloc[::-1])
    pd.testing.assert_frame_equal(shuffled.loc[back.index], back)
    TabularAEEncoder(**SMALL, valid_pct=0., fit_kwargs={'cbs': [Spy()]}).fit(df)
    assert seen == [(150, 150), (300, 0)]

def test_the_estimators_own_arguments_reach_the_fit(adult_df, monkeypatch):
    "`epochs`, `lr`, `patience`, `seed`, `bs` and `valid_pct` are passed to `fit_autoencoder` as given; a one-row frame is refused with the estimator's own message."
    import tabae.sklearn
    seen, fit = [], tabae.sklearn.fit_autoencoder
    monkeypatch.setattr(tabae.sklearn, 'fit_autoencoder', lambda *a, **kw: seen.append(kw) or fit(*a, **kw))
    df = adult_df[CATS + CONTS].iloc[:300]
    TabularAEEncoder(code_size=4, layers=(8,), epochs=1, lr=0.01, patience=2, seed=3, bs=32, valid_pct=0.25).fit(df)
    assert {k: seen[0][k] for k in ('epochs', 'lr', 'patience', 'seed', 'bs', 'valid_pct')} == dict(epochs=1, lr=0.01, patience=2, seed=3, bs=32, valid_pct=0.25)
    with pytest.raises(ValueError, match='TabularAEEncoder needs at least 2 rows to fit, got 1'): TabularAEEncoder(**SMALL).fit(df.iloc[:1])

def test_inverse_transform_leaves_the_models_mode_as_it_was(adult_df):
    "Decoding runs in eval mode and puts the model's mode back: a model in training mode stays in it, its BatchNorm statistics untouched."
    df = adult_df[CATS + CONTS].iloc[:300]
    enc = TabularAEEncoder(**SMALL).fit(df)
    codes, m = enc.transform(df), enc.learn_.model
    for mode in (False, True):
        m.train(mode)
        stats = [b.clone() for b in m.buffers()]
        enc.inverse_transform(codes)
        assert m.training == mode and all(torch.equal(a, b) for a, b in zip(stats, m.buffers()))

def test_a_frame_without_columns_is_refused():
    "A DataFrame of rows but no columns is refused as scikit-learn refuses an array without features (its `check_array` never sees a DataFrame)."
    with pytest.raises(ValueError, match=r"Found a DataFrame with 0 feature\(s\) \(shape=\(5, 0\)\) while at least one is required"):
        TabularAEEncoder(**SMALL).fit(pd.DataFrame(index=range(5)))
