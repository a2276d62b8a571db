import matplotlib
matplotlib.use('Agg')
import copy, warnings
import matplotlib.pyplot as plt, numpy as np, pandas as pd, pytest, torch
from sklearn.metrics import balanced_accuracy_score, f1_score, r2_score
from fastai.learner import load_learner
from tabae.evaluate import _actual, _labels
from tabae import AEReport, adult_columns, evaluate, fit_autoencoder, load_encoder, output_range, reconstruct, save_encoder

CATS, CONTS = adult_columns('adult-14')

@pytest.fixture(scope='module')
def held_out(adult_test_df):
    "1,500 held-out Adult rows, with a few missing ages (missing categories are already in the data)."
    df = adult_test_df.iloc[:1500].astype({'age': float})
    df.loc[df.index[:20], 'age'] = np.nan
    assert df['workclass'].isna().any()
    return df

@pytest.fixture(scope='module')
def report_and_rec(small_learn, held_out):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # categories the 3,000 training rows never saw
        return evaluate(small_learn, held_out), reconstruct(small_learn, held_out)

def test_continuous_numbers_match_sklearn(report_and_rec, held_out):
    rep, rec = report_and_rec
    assert list(rep.continuous.index) == CONTS
    for c in CONTS:
        ok = held_out[c].notna()
        y, p = held_out.loc[ok, c].astype(float), rec.loc[ok, c]
        err = (y - p).abs()
        want = [err.min(), err.max(), err.mean(), err.median(), r2_score(y, p)]
        np.testing.assert_allclose(rep.continuous.loc[c].iloc[:5].to_numpy(dtype=float), want, rtol=1e-9, err_msg=c)
    assert np.isfinite(rep.continuous.loc['age'].to_numpy(dtype=float)).all()  # the 20 missing ages are left out, not scored

def _train_range(small_learn, adult_df) -> pd.DataFrame:
    "The training rows' range, to which the head's outputs are clamped in eval mode (its bounds widen it by `RECIPE`'s `bound_pad`)."
    train = adult_df.loc[small_learn.dls.train_ds.items.index, CONTS].astype(float)
    return pd.DataFrame({'min': train.min(), 'max': train.max()})

def test_output_range_is_the_training_range(small_learn, adult_df, tmp_path):
    want = _train_range(small_learn, adult_df)
    rng = output_range(small_learn)
    assert list(rng.index) == CONTS and list(rng.columns) == ['min', 'max']
    np.testing.assert_array_equal(rng.to_numpy(), want.to_numpy())  # exactly: the head keeps the range, and float32's noise is rounded off
    small_learn.export(tmp_path / 'ae.pkl')  # no training rows travel with an export or a saved encoder: the bounds come from the model
    np.testing.assert_array_equal(output_range(load_learner(tmp_path / 'ae.pkl')).to_numpy(), rng.to_numpy())
    np.testing.assert_array_equal(output_range(load_encoder(save_encoder(small_learn, tmp_path / 'enc'))).to_numpy(), rng.to_numpy())

def test_out_of_range_counts_values_the_model_cannot_output(small_learn, adult_df, held_out):
    "A value past the training range cannot be rebuilt; the report counts them per column (inside it or at its edge: not counted)."
    want_rng = _train_range(small_learn, adult_df)
    lo, hi = want_rng.loc['age']
    df = held_out.copy()
    df.loc[df.index[20:26], 'age'] = [hi + 1, lo - 1, 500, hi - 0.5, lo + 0.5, (lo + hi) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rep = evaluate(small_learn, df)
        no_range = AEReport(df[CATS + CONTS], reconstruct(small_learn, df), CATS, CONTS)
    want = {c: int(((df[c] < want_rng.loc[c, 'min']) | (df[c] > want_rng.loc[c, 'max'])).sum()) for c in CONTS}
    assert rep.continuous.out_of_range.to_dict() == want and want['age'] == 3
    assert np.isnan(no_range.continuous.out_of_range).all()  # no range given: unknown, not 0

def test_categorical_numbers_match_sklearn(report_and_rec, held_out):
    rep, rec = report_and_rec
    assert list(rep.categorical.index) == CATS
    for c in CATS:
        y, p = (s.astype(object).fillna('#na#').astype(str) for s in (held_out[c], rec[c]))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            want = [balanced_accuracy_score(y, p), f1_score(y, p, average='weighted')]
        assert rep.categorical.loc[c].tolist() == want, c  # exactly: the report scores integer codes in the labels' order (sorting text was most of its time)

def test_summary_is_the_means(report_and_rec, held_out):
    "The summary holds the means over the columns of scikit-learn's scores, computed here from the rows themselves."
    rep, rec = report_and_rec
    s = rep.summary
    ok = {c: held_out[c].notna() for c in CONTS}
    assert s['mean_r2'] == pytest.approx(np.mean([r2_score(held_out.loc[ok[c], c].astype(float), rec.loc[ok[c], c]) for c in CONTS]), rel=1e-9)
    labels = {c: [v.astype(object).fillna('#na#').astype(str) for v in (held_out[c], rec[c])] for c in CATS}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert s['mean_balanced_accuracy'] == pytest.approx(np.mean([balanced_accuracy_score(*labels[c]) for c in CATS]), rel=1e-9)
        assert s['mean_f1_weighted'] == pytest.approx(np.mean([f1_score(*labels[c], average='weighted') for c in CATS]), rel=1e-9)
    assert s['rows'] == len(held_out)

def test_learner_method_and_repr(small_learn, report_and_rec, held_out):
    rep, _ = report_and_rec
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        again = small_learn.evaluate(held_out)
    assert isinstance(again, AEReport)
    pd.testing.assert_frame_equal(again.continuous, rep.continuous)
    text, html = repr(rep), rep._repr_html_()
    assert text.startswith('AEReport on 1,500 rows') and 'mean_r2' in text
    assert all(c in text and c in html for c in CATS + CONTS) and html.count('<table') == 3

def test_plot_draws_one_figure(report_and_rec):
    "`plot` draws in a new pyplot figure and returns nothing, as fastai's plots do (in Jupyter it closed the figure it returned, so `report.plot();` showed nothing and `plt.savefig` saved a blank image)."
    rep, _ = report_and_rec
    n = len(plt.get_fignums())
    assert rep.plot(ncols=4) is None and len(plt.get_fignums()) == n + 1
    fig = plt.gcf()
    plt.close(fig)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == len(CATS + CONTS) and all(any(t.startswith(c + '\n') for t in titles) for c in CATS + CONTS)
    age = next(ax for ax in fig.axes if ax.get_title().startswith('age\n'))
    assert len(age.collections[0].get_offsets()) == 1500  # one point per row
    fnlwgt = next(ax for ax in fig.axes if ax.get_title().startswith('fnlwgt\n'))
    fig.canvas.draw()
    assert any(t.get_text().endswith('k') for t in fnlwgt.get_xticklabels())  # 200k: six-digit ticks ran into each other

def test_plot_arguments_and_long_names():
    "Bad `max_classes`/`ncols`/`size` are named (they failed in scikit-learn, with a ZeroDivisionError or a TypeError); a long column name is shortened, not clipped at the panel's edge; one column draws one panel."
    from tabae import TabaeInputError
    long = 'a_categorical_column_with_a_rather_long_descriptive_name'
    rep = AEReport(pd.DataFrame({long: ['a', 'b'] * 5}), pd.DataFrame({long: ['a'] * 10}), [long], [])
    for bad in (dict(max_classes=0), dict(ncols=0), dict(max_classes=2.5), dict(size=0), dict(size='3')):
        with pytest.raises(TabaeInputError, match=f"`{next(iter(bad))}` must be a positive"): rep.plot(**bad)
    rep.plot()
    fig = plt.gcf()
    plt.close(fig)
    assert len(fig.axes) == 1 and fig.axes[0].get_title().startswith('a_categorical_column_with_a…\nbal.acc=0.500')
    y = pd.Series(np.linspace(0, 1, 50))
    AEReport(pd.DataFrame({'share': y}), pd.DataFrame({'share': y * 0.9}), [], ['share']).plot()
    fig = plt.gcf()
    fig.canvas.draw()
    plt.close(fig)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert '0.3' in ticks and not any(t.endswith('m') for t in ticks)  # shares as they are, not 300m

def test_training_metrics_match_sklearn(small_learn):
    "`ReconR2` and `CatAccuracy` in the per-epoch table are the R2 and accuracy of the validation predictions."
    assert small_learn.recorder.metric_names[3:5] == ['recon_r2', 'cat_acc']
    res = small_learn.validate()
    (logits, conts), (tc, tf) = small_learn.get_preds(dl=small_learn.dls.valid)
    r2 = np.mean([r2_score(tf[:, i].numpy(), conts[:, i].float().numpy()) for i in range(tf.shape[1])])
    bounds = np.cumsum([0] + [len(small_learn.dls.train_ds.classes[c]) for c in small_learn.dls.train_ds.cat_names])
    acc = np.mean([(logits[:, a:b].argmax(1) == tc[:, i]).float().mean().item() for i, (a, b) in enumerate(zip(bounds, bounds[1:]))])
    assert res[1] == pytest.approx(r2, abs=1e-3) and res[2] == pytest.approx(acc, abs=1e-3)

def test_a_report_without_one_kind_of_column_says_so():
    "A table of categories only prints no NaN mean R2 and no empty frame (it printed `mean_r2 NaN` and 'Empty DataFrame'); `summary` keeps every key."
    rep = AEReport(pd.DataFrame({'c': ['a', 'b']}), pd.DataFrame({'c': ['a', 'a']}), ['c'], [])
    text, html = repr(rep), rep._repr_html_()
    assert '(no continuous columns)' in text and 'mean_r2' not in text and 'Empty DataFrame' not in text and 'mean_balanced_accuracy' in text
    assert '(no continuous columns)' in html and 'mean_r2' not in html and np.isnan(rep.summary['mean_r2'])
    nums = AEReport(pd.DataFrame({'x': [1., 2., 3.]}), pd.DataFrame({'x': [1., 2., 2.5]}), [], ['x'])
    assert '(no categorical columns)' in repr(nums) and 'mean_f1_weighted' not in repr(nums)

def test_confusion_matrix_counts_rebuilds_as_classes_not_shown():
    "Each cell is a share of all the actual class's rows: half of 'a' rebuilt as '#na#' leaves 0.5 on the diagonal (it showed 1.0 under bal.acc=0.750)."
    rep = AEReport(pd.DataFrame({'c': ['a'] * 10 + ['b'] * 10}), pd.DataFrame({'c': ['a'] * 5 + ['#na#'] * 5 + ['b'] * 10}), ['c'], [])
    rep.plot()
    fig = plt.gcf()
    plt.close(fig)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), [[0.5, 0.], [0., 1.]])

def test_training_metrics_leave_out_filled_numbers_and_flag_columns(adult_df):
    "`recon_r2` scores only the numbers that were there (it scored FillMissing's fill-ins) and `cat_acc` only the user's columns (it averaged in the `<col>_na` flags): they equal `evaluate`'s R2 and the plain accuracy on the validation rows."
    df = adult_df.iloc[:1500].copy()
    df.loc[df.index[::4], 'age'] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, CATS, CONTS, code_size=8, layers=[32, 16], epochs=1, bs=128, progress=False, mixed_precision=False)
        assert 'age_na' in learn.dls.train_ds.cat_names
        with learn.no_bar(): _, r2, acc = learn.validate()
        valid = df.loc[learn.dls.valid_ds.items.index]
        rep, rebuilt = learn.evaluate(valid), learn.reconstruct(valid)
    assert r2 == pytest.approx(rep.summary['mean_r2'], abs=1e-4)
    truth = _actual(learn.dls.train_ds, valid)[0]
    assert acc == pytest.approx(np.mean([(_labels(rebuilt[c]).to_numpy() == _labels(truth[c]).to_numpy()).mean() for c in CATS]), abs=1e-4)

def test_a_column_with_no_training_class(adult_df):
    "A hand-built pipeline (which `fit_autoencoder` would refuse) with a categorical column missing in every training row: `evaluate` scores it (before: an IndexError)."
    from fastai.tabular.all import Categorify, FillMissing, Normalize, RandomSplitter
    from tabae import TabularPandasIdentity, ae_learner
    df = adult_df.iloc[:600][['race', 'age']].assign(e=np.nan)
    to = TabularPandasIdentity(df, [Categorify, FillMissing, Normalize], ['race', 'e'], ['age'], splits=RandomSplitter(seed=0)(df))
    learn = ae_learner(to.dataloaders(bs=64), code_size=4, layers=[16])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # 'x' is unseen
        rep = evaluate(learn, df.iloc[:50].assign(e=['x'] + [np.nan] * 49))
    assert rep.predicted['e'].isna().all() and rep.actual['e'].iloc[0] == 'x (unseen)'
    assert rep.categorical.loc['e', 'balanced_accuracy'] == 0.5 and np.isfinite(rep.summary.mean_r2)  # 'x' missed, the 49 gaps rebuilt as missing

def test_out_of_range_tolerance_is_float32_rounding_only():
    "Values a thousandth of the range past the bounds are counted; a ten-millionth or five-millionths past (float32 rounding) are not."
    lo, hi = 10., 90.
    y = pd.Series([hi + 1e-3 * (hi - lo), lo - 1e-3 * (hi - lo), hi + 1e-7 * (hi - lo), lo - 1e-7 * (hi - lo), hi + 5e-6 * (hi - lo), 50.])
    assert AEReport._out_of_range(y, lo, hi) == 2

def test_plot_shows_at_most_max_classes():
    "A column of 40 classes is drawn as the 20 most frequent (`max_classes`), not a 40x40 matrix, most frequent first."
    y = pd.Series([f'c{i}' for i in range(40)] * 3 + ['c0'] * 10)
    rep = AEReport(pd.DataFrame({'k': y}), pd.DataFrame({'k': y}), ['k'], [])
    rep.plot(max_classes=20)
    fig = plt.gcf()
    plt.close(fig)
    ax = next(a for a in fig.axes if a.get_title().startswith('k\n'))
    assert ax.images[0].get_array().shape == (20, 20) and ax.get_yticklabels()[0].get_text() == 'c0' and ax.get_title().endswith(', 20 of 40 classes')  # said so
    z = pd.Series(['z'] * 5 + ['a'] * 3 + ['m'] * 4)
    AEReport(pd.DataFrame({'k': z}), pd.DataFrame({'k': z}), ['k'], []).plot()
    fig = plt.gcf()
    plt.close(fig)
    assert 'classes' not in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ['z', 'm', 'a']  # most frequent first, not alphabetical

def test_recon_r2_leaves_out_a_column_constant_in_the_validation_rows():
    "A column with one value in every validation row has no R2; the others' mean is reported (float32 rounding made it -89,557 here), and no value when no column has one."
    from types import SimpleNamespace
    from tabae import ReconR2
    torch.manual_seed(0)
    targ = torch.stack([torch.randn(50), torch.full((50,), 0.3)], 1)
    pred = targ + 0.1 * torch.randn(50, 2)
    m = ReconR2()
    m.reset()
    m.accumulate(SimpleNamespace(pred=(None, pred), yb=(None, targ), to_detach=lambda t, cpu=False: t))
    assert m.value == pytest.approx(r2_score(targ[:, 0].numpy(), pred[:, 0].numpy()), abs=1e-5)
    m.reset()
    m.accumulate(SimpleNamespace(pred=(None, pred[:, 1:] * 0 + 0.4), yb=(None, targ[:, 1:]), to_detach=lambda t, cpu=False: t))
    assert m.value is None  # no column has an R2: none shown, not a made-up 0

def test_mean_r2_skips_a_column_without_r2():
    "A continuous column constant in the evaluated rows has no R2; `mean_r2` is the mean of the others, not NaN."
    actual = pd.DataFrame({'x': np.arange(10.), 'k': 5.})
    rep = AEReport(actual, actual.assign(x=actual.x + 0.1), [], ['x', 'k'])
    assert np.isnan(rep.continuous.r2['k']) and rep.summary['mean_r2'] == pytest.approx(rep.continuous.r2['x'])

def test_missing_categories_are_scored_as_the_class_na():
    "A missing category (None, NaN or pd.NA) counts as the class '#na#', which is what the model rebuilds for it: rebuilt so, it scores as right."
    actual = pd.DataFrame({'c': pd.Series(['a', 'b', None, np.nan, pd.NA, 'a'], dtype=object)})
    rep = AEReport(actual, pd.DataFrame({'c': ['a', 'b', '#na#', '#na#', '#na#', 'b']}), ['c'], [])
    assert rep.categorical.loc['c', 'balanced_accuracy'] == pytest.approx((0.5 + 1 + 1) / 3)

def test_a_report_built_by_hand_leaves_infinite_actual_values_out():
    "An `AEReport` given infinite actual numbers scores the finite ones (`evaluate` reads inf as missing before; scikit-learn raised on it)."
    rep = AEReport(pd.DataFrame({'x': [1., 2., 3., np.inf, 5.]}), pd.DataFrame({'x': [1.1, 2.1, 2.9, 4., 5.]}), [], ['x'])
    assert rep.continuous.loc['x', 'max_abs_err'] == pytest.approx(0.1) and np.isfinite(rep.continuous.loc['x', 'r2'])

def test_report_text_says_what_out_of_range_counts_and_reads_its_numbers():
    "`out_of_range` is explained under the table (it read as rebuilt values out of the data's range); the HTML table writes large errors in full (2.697e+04 beside 2096); one row is 'row'."
    rng = pd.DataFrame({'min': [0.], 'max': [4e5]}, index=['x'])
    rep = AEReport(pd.DataFrame({'x': [1e5, 2e5, 3.5e5]}), pd.DataFrame({'x': [1.2e5, 2e5, 2.5e5]}), [], ['x'], rng)
    assert 'out_of_range: how many rows hold an actual value the model cannot output (outside `output_range`: the training range)' in repr(rep)
    assert 'out_of_range: how many rows hold an actual value the model cannot output (outside <code>output_range</code>: the training range)' in rep._repr_html_()  # no literal backticks
    assert '<td>100,000</td>' in rep._repr_html_() and 'e+0' not in rep._repr_html_() and ' 100,000 ' in repr(rep) and 'e+0' not in repr(rep)  # the text table as the HTML one
    one = AEReport(pd.DataFrame({'x': [1.]}), pd.DataFrame({'x': [1.]}), [], ['x'])
    assert repr(one).startswith('AEReport on 1 row\n') and 'out_of_range: how many' not in repr(one)  # no range given: nothing to explain

def test_rebuilt_numbers_stay_in_the_training_range(small_learn, adult_df, held_out):
    "The head's bounds widen the training range by `bound_pad` so training reaches its extremes; rebuilds past them (7,410 negative capital gains of 16,281 held-out rows, down to -1,794, with the default fit) are clamped to it in eval mode, not in training."
    rng = _train_range(small_learn, adult_df)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rows = reconstruct(small_learn, held_out)
    assert ((rows[CONTS] >= rng['min']) & (rows[CONTS] <= rng['max'])).all().all()
    head = copy.deepcopy(small_learn.model.cont_head[-1])
    x = torch.full((2, len(CONTS)), 30.)
    x[1] = -30.
    head.train()
    assert torch.allclose(head(x), torch.stack([head.high, head.low]))  # training: the padded bounds, as before
    head.eval()
    assert torch.allclose(head(x), torch.stack(head.data_range()[::-1])) and (head.data_range()[0] > head.low).all()
    head.pad = None  # a model pickled before `pad`: not clamped
    assert torch.allclose(head(x), torch.stack([head.high, head.low]))

def test_every_rebuild_path_is_clamped(adult_df):
    "A head driven past its bounds rebuilds each number as its training extreme itself through `reconstruct`, `predict`, `show_results` and the scikit-learn transformer's `inverse_transform`, and past it (the padded bound) when the pad is not known, as before."
    df = adult_df.iloc[:600]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, CATS, CONTS, code_size=4, layers=[16], epochs=1, progress=False)
    lin = learn.model.cont_head[0][0] if isinstance(learn.model.cont_head[0], torch.nn.Sequential) else learn.model.cont_head[0]
    with torch.no_grad(): lin.weight.zero_(); lin.bias.fill_(-1e4)
    lo = _train_range(learn, df)['min']
    tol = 1e-4 * (df[CONTS].max() - lo)
    shown = learn.show_results(max_n=3, show=False).xs('rebuilt', level=1)[CONTS].astype(float)
    for rows in (learn.reconstruct(df.iloc[:5])[CONTS], learn.predict(df.iloc[0])[0][CONTS].to_frame().T.astype(float), shown):
        assert (rows == lo).all().all()  # the training minimum itself
    from tabae.sklearn import TabularAEEncoder
    enc = TabularAEEncoder(CATS, CONTS, code_size=4, layers=(16,), epochs=1).fit(df[CATS + CONTS])
    lin = enc.learn_.model.cont_head[0][0] if isinstance(enc.learn_.model.cont_head[0], torch.nn.Sequential) else enc.learn_.model.cont_head[0]
    with torch.no_grad(): lin.weight.zero_(); lin.bias.fill_(-1e4)
    back = enc.inverse_transform(enc.transform(df[CATS + CONTS].iloc[:5]))[CONTS].astype(float)
    assert (back == output_range(enc.learn_)['min']).all().all()  # the training minimum, as `output_range` gives it (tested above)
    learn.model.cont_head[-1].pad = None
    assert (learn.reconstruct(df.iloc[:5])[CONTS] < lo - tol).all().all()  # unclamped: the padded bound
    from tabae import TabaeInputError, TabularAE
    with pytest.raises(TabaeInputError, match=r"`bound_pad` must be None or a number >= 0, got -0.1"): TabularAE([(3, 2)], 1, 4, bound_pad=-0.1)

def test_plot_and_repr_of_a_wide_report():
    "A report of 40 columns draws its 24 worst rebuilt, by R2 and chance-adjusted balanced accuracy (a 400-column one drew 400 panels, 300 inches tall), says so, and draws the `columns` asked for; its text and HTML keep to pandas' `display.max_rows`; a one-class column draws without scikit-learn's warning."
    from tabae import TabaeInputError
    r = np.random.default_rng(0)
    y = pd.DataFrame(r.normal(size=(2000, 30)), columns=[f'x{i}' for i in range(30)])
    noise = pd.Series(np.arange(30) / 10, index=y.columns)  # x29 rebuilt worst
    cats = pd.DataFrame({f'k{i}': r.choice(['a', 'b'], 2000) for i in range(10)})
    rep = AEReport(pd.concat([y, cats], axis=1), pd.concat([y + r.normal(size=y.shape) * noise.to_numpy(), cats.assign(k9='a')], axis=1), list(cats), list(y))
    rep.plot()
    fig = plt.gcf()
    plt.close(fig)
    titles = [ax.get_title().split('\n')[0] for ax in fig.axes if ax.get_title()]
    assert titles == [f'x{i}' for i in range(7, 30)] + ['k9']  # R2 about 1 - (i / 10)**2; k9 at chance (0.5 balanced accuracy, 0 adjusted), the others exact
    assert fig.get_suptitle().startswith('the 24 of 40 columns rebuilt worst')
    rep.plot(columns=['x0', 'k0'])
    fig = plt.gcf()
    plt.close(fig)
    assert [ax.get_title().split('\n')[0] for ax in fig.axes if ax.get_title()] == ['x0', 'k0'] and not fig.get_suptitle()
    with pytest.raises(TabaeInputError, match=r"`columns` \['nope'\] are not columns of this report \(it has \['x0'"): rep.plot(columns='nope')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        AEReport(pd.DataFrame({'k': ['a'] * 5}), pd.DataFrame({'k': ['a'] * 5}), ['k'], []).plot()
    plt.close(plt.gcf())
    with pd.option_context('display.max_rows', 10):
        text, html = repr(rep), rep._repr_html_()
    assert 'x15 ' not in text and '...' in text and '<th>x15</th>' not in html and '<th>x0</th>' in html
    assert 'x15 ' in repr(rep)  # pandas' default: 60 rows

def test_the_report_says_which_columns_mean_r2_leaves_out_and_tolerates_rounding_at_a_constant_bound():
    "R2 is undefined for a column constant or missing in the rows scored: `mean_r2` averages the others, and the text and HTML reports name the ones left out; a column constant in training (a range of 0) still tolerates float32 rounding in `out_of_range`."
    a = pd.DataFrame({'x': np.arange(10.), 'k': [3.] * 10, 'm': [np.nan] * 10, 'c': list('ab') * 5})
    p = a.assign(x=a.x + 0.1, k=500., m=1.)
    rng = pd.DataFrame({'min': [0., 3., 0.], 'max': [9., 3., 1.]}, index=['x', 'k', 'm'])
    rep = AEReport(a, p, ['c'], ['x', 'k', 'm'], rng)
    assert rep.summary['mean_r2'] == pytest.approx(r2_score(a.x, p.x))
    note = "mean_r2: the mean over 1 of 3 columns; R2 is undefined for ['k', 'm'] (constant or missing in these rows)"
    assert note in repr(rep) and note.replace("'", '&#x27;') in rep._repr_html_()
    assert 'mean_r2:' not in repr(AEReport(a[['x', 'c']], p[['x', 'c']], ['c'], ['x']))
    counts = lambda k: AEReport(a.assign(k=k), p, ['c'], ['x', 'k', 'm'], rng).continuous.out_of_range['k']
    assert counts(3.00000001) == 0 and counts(3.1) == 10 and counts(2.9) == 10
    assert AEReport._out_of_range(pd.Series([1e6 + 15, 1e6 + 25, 1e6 - 12, 1e6 + 10.00001]), 1e6, 1e6 + 10) == 3  # far from 0 the range, not the size, sets the tolerance

def test_classes_training_never_saw_are_named_under_the_report(small_learn, held_out):
    "Held-out classes that no training row had (no rebuild can equal them, so each costs balanced accuracy a whole class) are counted under the categorical table, in text and HTML, and starred in the confusion matrix; the plot titles a constant column's R2 as undefined, not nan."
    rows = held_out.iloc[:300].copy()
    rows.loc[rows.index[:4], 'race'] = ['Martian', 'Martian', 'Venusian', np.nan]  # race has no gap in training: its gap is a class never seen too
    rows.loc[rows.index[:5], 'workclass'] = np.nan  # workclass has gaps in training ('?'): a class the model learned
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rep = small_learn.evaluate(rows.assign(age=40))
    assert rep.unseen['race'] == (4, 3) and rep.unseen['workclass'] == (0, 0)
    note = ("classes training never saw, which no rebuild can equal (each counts in balanced_accuracy with no row right; a gap is one where no training row had one): "
            "'race' 4 row(s) of 3 class(es)")
    assert note in repr(rep) and note.replace("'", '&#x27;') in rep._repr_html_() and note not in repr(small_learn.evaluate(held_out.iloc[:300]))
    rep.plot(columns=['race', 'age'])
    fig = plt.gcf()
    plt.close(fig)
    race, age = fig.axes[:2]
    assert {'Martian*', 'Venusian*'} <= {t.get_text() for t in race.get_yticklabels()} and race.get_ylabel() == 'actual (* unseen in training)'
    assert age.get_title() == 'age\nR2 undefined (constant)'
