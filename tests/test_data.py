import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import Categorify, FillMissing, Normalize, RandomSplitter, TabularPandas, TabularProc
from tabae import AEDataLoaders, TabaeInputError, infer_columns, TabularPandasIdentity, TabDataLoaderIdentity, ReadTabBatchIdentity, adult_columns, ae_data

CATS, CONTS = adult_columns('adult-9')

def make_dls(df, cats=CATS, conts=CONTS, bs=64, **kw):
    to = TabularPandasIdentity(df, [Categorify, FillMissing, Normalize], cats, conts, splits=RandomSplitter(seed=0)(df))
    return to.dataloaders(bs=bs, device='cpu', **kw)

def test_batches_are_identity(adult_df):
    dls = make_dls(adult_df.iloc[:500])
    assert dls.n_inp == 2 and isinstance(dls.train, TabDataLoaderIdentity)
    cats, conts, ycats, yconts = dls.one_batch()
    assert cats.dtype == torch.long and conts.dtype == torch.float32
    assert cats.shape == (64, len(CATS)) and conts.shape == (64, len(CONTS))
    assert torch.equal(cats, ycats) and torch.equal(conts, yconts)

def test_shuffle_is_a_permutation(adult_df):
    dls = make_dls(adult_df.iloc[:300], bs=32)
    seen = torch.cat([b[1] for b in dls.train])
    train = torch.tensor(dls.train_ds.conts.to_numpy(np.float32))
    assert len(seen) == len(train)  # 240 rows: no trailing 1-row batch, no row twice
    key = lambda t: sorted(map(tuple, t.tolist()))
    assert key(seen) == key(train)
    assert not torch.equal(seen, train)  # shuffled

def test_get_preds_puts_shuffled_rows_back_in_order(adult_df):
    "fastai's `get_preds` on a shuffled loader returns the rows in the dataset's order (the loader ignored the order it was given, so they came back shuffled)."
    from tabae import ae_learner
    dls = make_dls(adult_df.iloc[:300], bs=32)
    learn = ae_learner(dls, code_size=4, layers=[16], mixed_precision=False)
    with learn.no_bar():
        shuffled, ordered = learn.get_preds(dl=dls.train.new(drop_last=False)), learn.get_preds(ds_idx=0)
        test = lambda **kw: learn.get_preds(dl=dls.test_dl(adult_df.iloc[:100], **kw))
        on_test = test(shuffle=True), test()
    for a, b in (shuffled, ordered), on_test:
        assert torch.equal(a[1][1], b[1][1]) and torch.allclose(a[0][1], b[0][1], atol=1e-6)
    assert torch.equal(ordered[1][1], torch.tensor(dls.train_ds.conts.to_numpy(np.float32)))

def test_column_lists_are_not_extended(adult_df):
    "`FillMissing` appends `<col>_na` to the table's `cat_names`, not to the caller's list (the next `from_df(cat_names=cats)` then named 'age_na' as missing)."
    df, cats = adult_df.iloc[:200].copy(), list(CATS)
    df.loc[df.index[:20], 'age'] = np.nan
    to = TabularPandasIdentity(df, [Categorify, FillMissing, Normalize], cats, CONTS)
    assert cats == CATS and 'age_na' in to.cat_names

def test_flag_columns_are_made_as_fastai_makes_them(adult_df):
    "`FillMissing`'s `<col>_na` columns, now made in one go before it runs, are those it makes, flags and order alike, in setup and on new rows; none with `add_col=False`."
    df = adult_df.iloc[:200].copy()
    df.loc[df.index[:20], 'age'], df.loc[df.index[5:9], 'fnlwgt'] = np.nan, np.nan
    mine, fastais = (cls(df, [Categorify, FillMissing, Normalize], list(CATS), CONTS, splits=[list(range(150)), list(range(150, 200))]) for cls in (TabularPandasIdentity, TabularPandas))  # fastai extends the list it is given
    assert list(mine.cat_names) == list(fastais.cat_names) == CATS + ['age_na', 'fnlwgt_na']
    cols = ['age_na', 'fnlwgt_na'] + CONTS  # tabae's classes come from the training rows alone, fastai's from all
    pd.testing.assert_frame_equal(mine.items[cols], fastais.items[cols], check_dtype=False, check_exact=False, atol=1e-5)  # fastai shrinks floats to float32
    new = df.iloc[:30].copy()
    a, b = mine.new(new), fastais.new(new)
    a.process(); b.process()
    pd.testing.assert_frame_equal(a.items[cols], b.items[cols], check_dtype=False, check_exact=False, atol=1e-5)
    flags = a.items['age_na'].tolist()  # Categorify's codes of True and False
    assert len(set(flags[:20])) == len(set(flags[20:])) == 1 and flags[0] != flags[20]
    bare = TabularPandasIdentity(df, [Categorify, FillMissing(add_col=False), Normalize], CATS, CONTS)
    assert not [c for c in bare.items if str(c).endswith('_na')]
    class FillFirst(TabularProc):  # an earlier proc fills the gaps: `FillMissing` makes no flag, and none is left
        order = -1
        def encodes(self, to): to.loc[:, 'age'] = to['age'].fillna(0)
    filled = TabularPandasIdentity(df, [FillFirst, Categorify, FillMissing, Normalize], list(CATS), CONTS)
    assert 'age_na' not in filled.items and 'age_na' not in filled.cat_names and 'fnlwgt_na' in filled.items

def test_gaps_fastai_cannot_fill_are_named(adult_df):
    "Gaps in validation rows only, and gaps under a number as column name, failed inside fastai's `FillMissing` (an assertion, a TypeError); `ae_data` fills the first."
    df = adult_df.iloc[:200][CATS + CONTS].copy()
    splits = RandomSplitter(seed=0)(df)
    late = df.copy()
    late.loc[late.index[splits[1][:3]], 'age'] = np.nan
    with pytest.raises(TabaeInputError, match=r"\['age'\] have missing values in validation rows only.*AEDataLoaders.from_df"):
        TabularPandasIdentity(late, [Categorify, FillMissing, Normalize], CATS, CONTS, splits=splits)
    assert ae_data(late, CATS, CONTS, valid_idx=splits[1], bs=32).valid.conts.isfinite().all()
    unnamed = df.set_axis(range(df.shape[1]), axis=1)
    unnamed.iloc[:5, len(CATS)] = np.nan
    conts = list(range(len(CATS), df.shape[1]))
    with pytest.raises(TabaeInputError, match=rf"\[{len(CATS)}\] have missing values.*text name.*str\(c\)"):
        ae_data(unnamed, list(range(len(CATS))), conts)

def test_validation_categories_unseen_in_training_are_na_without_pandas_warnings():
    "Classes only validation rows have are coded '#na#' (0), as at `encode` time: integer ones without pandas' deprecation warning (four of them on a reviewer's digits), text ones kept out of the vocabulary (they had embeddings and logits that never trained)."
    import warnings
    r = np.random.default_rng(0)
    df = pd.DataFrame({'a': r.integers(0, 30, 200), 't': r.choice(['x', 'y', 'z'], 200), 'c': r.normal(size=200)})
    df.loc[df.index[-5:], ['a', 't']] = [99, 'late']
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        dls = ae_data(df, ['a', 't'], ['c'], valid_idx=list(range(150, 200)), bs=32)
    classes = dls.train_ds.classes
    assert 99 not in classes['a'] and list(classes['t']) == ['#na#', 'x', 'y', 'z']
    assert (dls.valid.cats[-5:, :2] == 0).all() and (dls.valid.cats[:-5] > 0).all() and (dls.train.cats > 0).all()
    assert all(isinstance(c, (int, np.integer)) for c in classes['a'][1:])  # still integer classes (a first fix made them floats)
    o = df.assign(o=pd.Categorical(r.choice(['lo', 'hi'], 200), ['unused', 'lo', 'late', 'hi'], ordered=True))
    o.loc[o.index[-2:], 'o'] = 'late'
    to = TabularPandasIdentity(o, [Categorify, Normalize], ['o'], ['c'], splits=(list(range(150)), list(range(150, 200))))
    assert list(to.classes['o']) == ['#na#', 'lo', 'hi'] and (to.valid.items['o'].iloc[-2:] == 0).all()  # a categorical's own order, less the classes training lacks
    assert list(o['o'].cat.categories) == ['unused', 'lo', 'late', 'hi']  # the caller's frame untouched

def test_no_single_row_batch_in_training(adult_df):
    dls = make_dls(adult_df.iloc[:41], bs=32)  # 33 training rows -> 32 + 1
    sizes = [len(b[0]) for b in dls.train]
    assert sizes == [32] and len(dls.train) == 1
    assert sum(len(b[0]) for b in dls.valid) == len(dls.valid_ds)  # validation keeps every row

def test_first_pass_and_show_batch(adult_df):
    dls = make_dls(adult_df.iloc[:100])
    dls.train._one_pass()
    dec = dls.train.decode(dls.one_batch())
    assert list(dec.items.columns) == CATS + CONTS
    assert set(dec.decode().items['race']) <= set(adult_df['race'].dropna())  # procs decode codes to labels

def test_show_batch_shows_max_n_rows_with_gaps_as_nan(adult_df, monkeypatch):
    "`show_batch(max_n=3)` shows 3 rows (fastai's tabular one showed 10), the user's columns, missing numbers as NaN; `decode_batch` gives the same rows."
    df = adult_df.iloc[:200].copy()
    df.loc[df.index[::2], 'age'] = np.nan
    dls = AEDataLoaders.from_df(df, cat_names=CATS, cont_names=CONTS, bs=64, shuffle=False)
    shown = []
    monkeypatch.setattr('tabae.data.display_df', shown.append)
    dls.show_batch(max_n=3)
    assert len(shown) == 1 and shown[0].shape == (3, len(CATS + CONTS)) and list(shown[0].columns) == CATS + CONTS
    b, state = dls.valid.one_batch(), dls.train.rng.getstate()
    assert len(dls.train.show_batch(b, max_n=5, show=False)) == 5 and dls.train.rng.getstate() == state  # a batch given: none drawn
    rows = dls.train.show_batch(max_n=100, show=False)
    assert len(rows) == 64 and rows['age'].isna().any() and rows['age'].notna().any()
    pd.testing.assert_frame_equal(dls.decode_batch(b, max_n=4), dls.train.show_batch(b, max_n=4, show=False))  # fastai's recursed without end
    shown = dls.test_dl(df.iloc[:64]).show_batch(max_n=64, show=False)  # in order: the rows as they were (float32's noise rounded off: fnlwgt 86399.002 was shown)
    pd.testing.assert_frame_equal(shown[CONTS], df[CONTS].iloc[:64].reset_index(drop=True).astype(float), check_exact=True)

def test_no_cat_or_no_cont(adult_df):
    df = adult_df.iloc[:200]
    b = make_dls(df, cats=[]).one_batch()
    assert b[0].shape == (64, 0) and b[1].shape == (64, 3)
    b = make_dls(df, conts=[]).one_batch()
    assert b[0].shape == (64, 6) and b[1].shape == (64, 0)

def test_test_dl_on_unseen_rows(adult_df, adult_test_df):
    dls = make_dls(adult_df.iloc[:500])
    tdl = dls.test_dl(adult_test_df.iloc[:70])
    batches = list(tdl)
    assert sum(len(b[0]) for b in batches) == 70 and len(batches[0]) == 4

def test_read_batch_keeps_no_rows(adult_df):
    dls = make_dls(adult_df.iloc[:500])
    tfm = [t for t in dls.train.after_batch.fs if isinstance(t, ReadTabBatchIdentity)][0]
    assert len(tfm.to.items) == 0

def test_export_drops_training_rows(adult_df):
    dls = make_dls(adult_df.iloc[:500])
    empty = dls.new_empty()
    assert len(empty.train_ds.items) == 0 and len(empty.train.cats) == 0

def test_from_df_and_from_csv_build_autoencoder_data(adult_df, tmp_path):
    "fastai's constructors on `AEDataLoaders` give `ae_data`'s loaders (not plain `TabularDataLoaders`), columns not named read by dtype."
    df = adult_df.iloc[:400][CATS + CONTS]
    dls = AEDataLoaders.from_df(df, tmp_path, cat_names=CATS, bs=64)
    ref = ae_data(df, CATS, CONTS, bs=64)
    assert type(dls) is AEDataLoaders and dls.path == tmp_path and dls.n_inp == 2 and list(dls.train_ds.cont_names) == CONTS
    assert torch.equal(dls.train.conts, ref.train.conts) and torch.equal(dls.valid.cats, ref.valid.cats)
    df.to_csv(tmp_path / 'rows.csv', index=False)
    again = AEDataLoaders.from_csv(tmp_path / 'rows.csv', cat_names=CATS, cont_names=CONTS[:2], bs=64, valid_pct=0.1)
    assert type(again) is AEDataLoaders and list(again.train_ds.cont_names) == CONTS[:2] and len(again.valid_ds) == 40
    inferred = AEDataLoaders.from_df(adult_df.iloc[:400].drop(columns='salary'), bs=64)  # by dtype, as `TabularAEEncoder` and `tabae fit`
    assert (list(inferred.train_ds.cat_names), list(inferred.train_ds.cont_names)) == infer_columns(adult_df.drop(columns='salary'))
    assert 'workclass' in inferred.train_ds.cat_names and 'age' in inferred.train_ds.cont_names
    with pytest.raises(TabaeInputError, match='`y_names`'): AEDataLoaders.from_df(adult_df.iloc[:400], cat_names=CATS, y_names='salary')

def test_from_df_takes_fastai_loader_arguments(adult_df):
    "fastai's `dataloaders` keywords (`val_bs`, `shuffle`, `drop_last`, `num_workers`) reach the loaders; a misspelt one is named, not dropped."
    df = adult_df.iloc[:400][CATS + CONTS]
    dls = AEDataLoaders.from_df(df, cat_names=CATS, bs=64, val_bs=30, shuffle=False, drop_last=True, num_workers=0)
    assert (dls.train.bs, dls.valid.bs, dls.train.shuffle, dls.train.drop_last) == (64, 30, False, True)
    assert len(list(dls.train)) == 320 // 64 and len(list(dls.valid)) == 3
    first = dls.train.one_batch()[0]
    assert torch.equal(first, dls.train.cats[:64])  # unshuffled: the first rows in order
    with pytest.raises(TypeError, match=r"\['val_bss'\] for `ae_data`/`AEDataLoaders.from_df`.*val_bs"):
        AEDataLoaders.from_df(df, cat_names=CATS, val_bss=30)
    with pytest.raises(TypeError, match=r"\['after_batch'\]"): ae_data(df, CATS, CONTS, after_batch=None)  # would replace the (cats, conts, cats, conts) batches

def test_identity_takes_fastai_positional_arguments(adult_df):
    "`TabularPandasIdentity` takes fastai's arguments in fastai's order (the fifth is `y_names`)."
    df = adult_df.iloc[:200]
    to = TabularPandasIdentity(df, [Categorify, Normalize], CATS[:2], CONTS[:2], ['salary'], None, RandomSplitter(seed=0)(df))
    assert list(to.y_names) == ['salary'] and len(to.valid) == 40 and to.items['age'].dtype.kind == 'f'

def test_valid_idx_picks_the_validation_rows(adult_df):
    "`valid_idx` (positions, as fastai's `from_df` takes them) replaces the random split; bad positions are named."
    df = adult_df.iloc[:300][CATS + CONTS].set_axis(range(1000, 1300))
    dls = AEDataLoaders.from_df(df, cat_names=CATS, cont_names=CONTS, valid_idx=[5, 250, 5, 17], bs=64)
    assert list(dls.valid_ds.items.index) == [5, 250, 17] and len(dls.train_ds) == 297  # positions: `clean_train_frame` indexes rows by position
    assert ae_data(df, CATS, CONTS, valid_idx=[], bs=64).valid.n == 0
    for bad in ([300], [-1], [1005], [2.0], [True]):
        with pytest.raises(TabaeInputError, match='`valid_idx`'): ae_data(df, CATS, CONTS, valid_idx=bad)

def test_infer_columns_reads_booleans_as_categories(adult_df):
    "A bool column is categorical (it is numeric to pandas, and a continuous one is refused as holding booleans)."
    cats, conts = infer_columns(adult_df.iloc[:50].assign(flag=lambda d: d.age > 40).drop(columns='salary'))
    assert 'flag' in cats and 'flag' not in conts

def test_unshuffled_loaders_keep_a_trailing_row(adult_df):
    "Only training drops a trailing one-row batch: validation, `test_dl` and `get_preds` keep all 65 rows of 64 + 1, `get_preds` on the training loader too (it failed with an IndexError putting 64 predictions back in the order of 65)."
    from tabae import ae_learner
    dls = ae_data(adult_df.iloc[:200], CATS, CONTS, valid_idx=list(range(135, 200)), bs=64)
    assert len(dls.valid_ds) == 65 and sum(len(b[0]) for b in dls.valid) == 65
    assert sum(len(b[0]) for b in dls.test_dl(adult_df.iloc[:65])) == 65
    dls = ae_data(adult_df.iloc[:200], CATS, CONTS, valid_idx=list(range(135, 200)), bs=67)  # 135 = 2 * 67 + 1
    learn = ae_learner(dls, code_size=4, layers=[16], mixed_precision=False)
    assert sum(len(b[0]) for b in dls.train) == 134  # training: no batch of one row, as BatchNorm needs
    with learn.no_bar(): preds, targs = learn.get_preds(dl=dls.train)
    assert torch.equal(targs[1], torch.tensor(dls.train_ds.conts.to_numpy(np.float32))) and len(preds[1]) == 135

def test_shown_inputs_keep_their_decimals_and_from_csv_strips_spaces(adult_df, tmp_path):
    "`show_batch` rounds only to float32's precision (a value ~1e5 from the mean to 0.1: 86399.25 shows as 86399.2, not 86399); `from_csv` reads ', '-separated files as Adult's raw files are written."
    df = adult_df.iloc[:200][CATS + CONTS].assign(fnlwgt=lambda d: d.fnlwgt + 0.25)
    dls = AEDataLoaders.from_df(df, cat_names=CATS, cont_names=CONTS, bs=64)
    shown = dls.test_dl(df.iloc[:64]).show_batch(max_n=64, show=False)
    np.testing.assert_allclose(shown['fnlwgt'], df['fnlwgt'].iloc[:64], rtol=0, atol=0.051)
    (tmp_path / 'a.csv').write_text(df.iloc[:100].to_csv(index=False).replace(',', ', '))
    csv = AEDataLoaders.from_csv(tmp_path / 'a.csv', cat_names=CATS, cont_names=CONTS, bs=64)
    assert not any(str(c).startswith(' ') for col in CATS for c in csv.train_ds.classes[col][1:])

def test_test_dl_passes_its_loader_arguments_on(adult_df):
    "`dls.test_dl(df, bs=..., shuffle=...)` builds its loader with them, as fastai's does: 7-row batches, in a shuffled order."
    dls = ae_data(adult_df.iloc[:300], CATS, CONTS, bs=64)
    rows = adult_df.iloc[:50]
    plain, small, mixed = dls.test_dl(rows), dls.test_dl(rows, bs=7), dls.test_dl(rows, shuffle=True)
    assert [len(b[0]) for b in plain] == [50] and [len(b[0]) for b in small] == [7] * 7 + [1]
    order, shuffled = torch.cat([b[1] for b in plain]), torch.cat([b[1] for b in mixed])
    assert len(shuffled) == 50 and not torch.equal(order, shuffled)

def test_each_epoch_draws_a_new_order(adult_df):
    "The training loader shuffles anew on every pass (the same permutation every epoch would be a fixed batching)."
    from fastai.torch_core import set_seed
    set_seed(0)
    dls = ae_data(adult_df.iloc[:2000], CATS, CONTS, bs=256)
    firsts = [next(iter(dls.train))[1] for _ in range(3)]
    assert not torch.equal(firsts[0], firsts[1]) and not torch.equal(firsts[1], firsts[2])

def test_shown_zeros_are_not_negative():
    "A zero decoded from its normalized float32 value shows as 0.0, not -0.0."
    r = np.random.default_rng(0)
    df = pd.DataFrame({'a': r.choice(['x', 'y'], 400), 'g': np.where(r.random(400) < 0.8, 0., r.exponential(1000, 400))})
    shown = ae_data(df, ['a'], ['g'], bs=400, valid_pct=0.).train.show_batch(max_n=400, show=False)
    zeros = shown.g[shown.g == 0]
    assert len(zeros) == (df.g == 0).sum() and not np.signbit(zeros).any()

def test_columns_left_out_by_a_list_not_given_are_named(adult_df):
    "`fit_autoencoder(df, cats)` trained on no numbers without a word (fastai reads `cont_names=None` as none): the columns of the kind not given are named; `[]` says so on purpose."
    import warnings
    df = adult_df.iloc[:300]
    with pytest.warns(UserWarning, match=r"`cont_names` is not given, so the numeric column\(s\) \['age', 'fnlwgt', .*\] are left out.*`cont_names=\[\]`") as ws:
        dls = ae_data(df, CATS, bs=64)
    assert dls.cont_names == [] and 'salary' not in str(ws[0].message) and ws[0].filename == __file__  # the target is text: not named; the user's line
    with pytest.warns(UserWarning, match=r"`cat_names` is not given, so the non-numeric column\(s\) \['workclass', .*'salary'\] are left out"): ae_data(df, cont_names=CONTS, bs=64)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ae_data(df, CATS, [], bs=64); ae_data(df[CATS + ['salary']], CATS, bs=64)  # none on purpose; none left out

def test_seeded_split_leaves_the_callers_torch_stream_alone(adult_df):
    "`ae_data(seed=...)` holds out the rows fastai's `RandomSplitter(valid_pct, seed)` would, without reseeding torch's global stream (which gave every model built after it the same weights whatever the caller's seed)."
    from tabae import ae_learner
    df = adult_df.iloc[:500]
    want = RandomSplitter(0.2, seed=3)(range(len(df)))
    weights = []
    for s in (1, 2):
        torch.manual_seed(s)
        dls = ae_data(df, CATS, CONTS, seed=3, device='cpu')
        assert sorted(dls.valid_ds.items.index) == sorted(want[1]) and len(dls.train_ds) == len(want[0])
        weights.append(ae_learner(dls, mixed_precision=False).model.layers[0][0].weight.detach().clone())
    assert not torch.equal(*weights)
    torch.manual_seed(5); want = torch.rand(3)
    torch.manual_seed(5); ae_data(df, CATS, CONTS, seed=3, device='cpu')
    assert torch.equal(torch.rand(3), want)
