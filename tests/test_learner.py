import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import Categorify, FillMissing, Normalize, RandomSplitter, EarlyStoppingCallback, SaveModelCallback
from tabae import *

CATS, CONTS = adult_columns('adult-9')

def adult_dls(df, cats=CATS, conts=CONTS, bs=1024):
    to = TabularPandasIdentity(df[cats + conts], [Categorify, FillMissing, Normalize], cats, conts, splits=RandomSplitter(seed=0)(df))
    return to.dataloaders(bs=bs)

def test_article_flow_end_to_end(adult_df, tmp_path):
    "The article's flow on the real Adult data with its 9 columns: a few epochs, validation loss falls, codes are (n, 128)."
    dls = adult_dls(adult_df)
    learn = ae_learner(dls, path=tmp_path)
    with learn.no_bar():
        learn.fit_flat_cos(4, 3e-3, cbs=[EarlyStoppingCallback(patience=3), SaveModelCallback()])
    vl = [v[1] for v in learn.recorder.values]
    assert vl[-1] < vl[0]
    assert (tmp_path / 'models' / 'model.pth').exists()
    cats, conts, *_ = dls.valid.one_batch()
    learn.model.eval()
    code = learn.model(cats, conts, encode=True)
    assert code.shape == (len(cats), 128) and torch.isfinite(code).all()
    _, _, losses = learn.get_preds(with_loss=True)
    assert losses.shape == (len(dls.valid_ds),)
    names = [m.name for m in learn.metrics]
    assert names == ['recon_r2', 'cat_acc'] and all(np.isfinite(learn.recorder.values[-1][2:4]))

def test_bounds_from_training_split(adult_df):
    dls = adult_dls(adult_df.iloc[:2000])
    learn = ae_learner(dls, mixed_precision=False)
    tr = torch.tensor(dls.train_ds.conts.to_numpy(np.float32))
    assert torch.allclose(learn.model.cont_head[1].low.cpu(), tr.min(0).values)
    assert torch.allclose(learn.model.cont_head[1].high.cpu(), tr.max(0).values)
    assert next(learn.model.parameters()).device.type == dls.device.type

@pytest.mark.parametrize('cats,conts', [([], CONTS), (CATS, [])])
def test_no_cat_or_no_cont_tables_train(adult_df, cats, conts):
    dls = adult_dls(adult_df.iloc[:1500], cats, conts, bs=256)
    learn = ae_learner(dls, code_size=8, layers=[32, 16])
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 3e-3)
    assert all(np.isfinite(v[1]) for v in learn.recorder.values)

def test_dls_must_be_identity(adult_df):
    from fastai.tabular.all import TabularPandas
    to = TabularPandas(adult_df.iloc[:100], [Categorify, Normalize], CATS, CONTS, y_names='salary')
    with pytest.raises(ValueError, match='TabularPandasIdentity'): ae_learner(to.dataloaders(bs=16))

def test_amp_dtype_choice():
    assert amp_dtype('cpu') in (torch.bfloat16, None)
    if torch.cuda.is_available(): assert amp_dtype('cuda') in (torch.bfloat16, torch.float16)

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.cuda
def test_trains_on_cuda(adult_df):
    dls = adult_dls(adult_df.iloc[:3000], bs=512)
    learn = ae_learner(dls)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 3e-3)
    assert next(learn.model.parameters()).is_cuda and np.isfinite(learn.recorder.values[-1][1])
