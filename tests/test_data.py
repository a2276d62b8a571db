import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import Categorify, FillMissing, Normalize, RandomSplitter
from tabae import TabularPandasIdentity, TabDataLoaderIdentity, ReadTabBatchIdentity, adult_columns

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
