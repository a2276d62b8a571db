import sys, warnings
import numpy as np, pandas as pd, pytest, torch
import torch.nn.functional as F
from fastai.callback.core import Callback
from fastai.tabular.all import Categorify, FillMissing, MixedPrecision, Normalize, RandomSplitter, EarlyStoppingCallback, SaveModelCallback, first
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
    with pytest.raises(TabaeInputError, match=r'`dls` must yield \(cats, conts, cats, conts\) batches: build them with `TabularPandasIdentity`'): ae_learner(to.dataloaders(bs=16))

def test_mixed_precision_false_adds_no_autocast(adult_df):
    "`mixed_precision=False` leaves the automatic mixed precision out, whatever the hardware."
    dls = adult_dls(adult_df.iloc[:300], bs=64)
    assert not any(isinstance(cb, AutoMixedPrecision) for cb in ae_learner(dls, code_size=4, layers=[8], mixed_precision=False).cbs)
    assert any(isinstance(cb, AutoMixedPrecision) for cb in ae_learner(dls, code_size=4, layers=[8]).cbs)

def test_amp_dtype_choice():
    "bf16 on GPUs that have it (A100, H100), fp16 with loss scaling on older ones; bf16 or nothing on CPUs."
    from unittest import mock
    assert amp_dtype('cpu') in (torch.bfloat16, None)
    for bf16, want in ((True, torch.bfloat16), (False, torch.float16)):
        with mock.patch('torch.cuda.is_bf16_supported', return_value=bf16): assert amp_dtype('cuda') == want

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.cuda
def test_trains_on_cuda(adult_df):
    dls = adult_dls(adult_df.iloc[:3000], bs=512)
    learn = ae_learner(dls)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 3e-3)
    assert next(learn.model.parameters()).is_cuda and np.isfinite(learn.recorder.values[-1][1])

def test_linear_decoder_outputs_are_linear_in_the_code(adult_df):
    "With `decoder='linear'` every categorical logit is an affine function of the code (eval mode)."
    learn = ae_learner(adult_dls(adult_df.iloc[:1500], bs=256), code_size=8, layers=[32, 16], decoder='linear', mixed_precision=False)
    m = learn.model.eval()
    assert len(m.decoder) == 1 and m.decoder_kind == 'linear'
    c1, c2 = torch.randn(5, 8), torch.randn(5, 8)
    with torch.no_grad(): mix, a, b = (m.decode(c)[0] for c in (0.3 * c1 + 0.7 * c2, c1, c2))
    assert torch.allclose(mix, 0.3 * a + 0.7 * b, atol=1e-5)
    m_mirror = ae_learner(adult_dls(adult_df.iloc[:1500], bs=256), code_size=8, layers=[32, 16], mixed_precision=False).model.eval()
    with torch.no_grad(): mix, a, b = (m_mirror.decode(c)[0] for c in (0.3 * c1 + 0.7 * c2, c1, c2))
    assert not torch.allclose(mix, 0.3 * a + 0.7 * b, atol=1e-5)  # the mirrored decoder is not

def test_bin_edges_follow_distinct_values(adult_df):
    "capital-gain is 0 in ~92% of rows: its edges spread over its distinct values (the tail gets bins), and `bins` numbers each value's range."
    dls = adult_dls(adult_df.iloc[:5000], ['race'], ['age', 'capital-gain'])
    edges = cont_bin_edges(dls, 8)
    assert edges.shape == (2, 7)
    gain = dls.train.conts[:, 1].float()
    finite = edges[1][torch.isfinite(edges[1])]
    assert len(finite) >= 5 and (finite.diff() > 0).all() and (finite > gain.min()).sum() >= 5
    learn = ae_learner(dls, code_size=8, layers=[32], bin_targets=8, mixed_precision=False)
    bins = learn.model.bins(dls.train.conts)
    want = torch.stack([torch.bucketize(dls.train.conts[:, j].float().contiguous(), edges[j][torch.isfinite(edges[j])], right=True) for j in range(2)], 1)
    assert torch.equal(bins.cpu(), want) and bins.max() < 8

def test_bin_loss_leaves_no_hook_after_a_fit_that_raised(adult_df):
    "A fit stopped by an exception never reaches `after_fit`: `AELearner.fit` removes the decoder hook at once; under a plain fastai `Learner` the next fit replaces the stale one (each such fit left one more)."
    from fastai.learner import Learner
    ae = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], bin_targets=4, mixed_precision=False)
    plain = Learner(ae.dls, ae.model, loss_func=ae.loss_func, cbs=[cb for cb in ae.cbs if isinstance(cb, BinLoss)])
    class Boom(Callback):
        def after_batch(self): raise RuntimeError('interrupted')
    for learn, left in ((ae, 0), (plain, 1)):
        with learn.no_bar(), learn.no_logging():
            for _ in range(2):
                with pytest.raises(RuntimeError, match='interrupted'): learn.fit(1, cbs=Boom())
            assert len(learn.model.decoder._forward_hooks) == left
            learn.fit(1)
        assert not learn.model.decoder._forward_hooks

def test_swap_noise_rate_comes_back_after_a_fit_that_raised(adult_df):
    "A fit stopped by an exception late in the anneal left the swap rate near 0, so the next fit trained without noise; it is put back."
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], swap_p=0.2, mixed_precision=False)
    class Boom(Callback):
        def after_batch(self):
            if self.pct_train > 0.8: raise RuntimeError('interrupted')
    for sched in (SwapNoiseSchedule(0.5), SwapNoiseSchedule):  # an instance, or a class fastai makes one of
        with learn.no_bar(), learn.no_logging(), pytest.raises(RuntimeError, match='interrupted'): learn.fit(2, cbs=[sched, Boom()])
        assert learn.model.noise.p == 0.2

def _autocast_left(dev:str) -> bool:
    "Whether an autocast region is still open on `dev`: on, or nested (its cast-weight cache is then never cleared, so later fits train on stale bf16 copies)."
    depth = torch.autocast_increment_nesting(); torch.autocast_decrement_nesting()
    return torch.is_autocast_enabled(dev) or depth != 1

def _close_autocast(dev:str):
    "Close what a failing test left open, so the tests after it run as usual."
    torch.set_autocast_enabled(dev, False)
    while torch.autocast_increment_nesting() > 1: torch.autocast_decrement_nesting(); torch.autocast_decrement_nesting()
    torch.autocast_decrement_nesting()

@pytest.mark.parametrize('event,cancel', [('after_pred', 'Batch'), ('after_loss', 'Batch'), ('before_backward', 'Batch'), ('after_pred', 'Epoch'), ('after_pred', 'Train')])
def test_a_cancelled_batch_leaves_no_autocast_on(adult_df, event, cancel):
    "A batch, epoch or training phase cancelled between `before_batch` and `after_loss` skipped the exit of the batch's autocast: bf16 autocast stayed on in the whole process (one more region per cancel), and later fits (fastai's too) barely trained."
    import fastai.callback.core as core
    exc = getattr(core, f'Cancel{cancel}Exception')
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], mixed_precision=False, cbs=[AutoMixedPrecision(torch.bfloat16)])
    dev = torch.device(learn.dls.device or 'cpu').type
    class Skip(Callback): pass
    setattr(Skip, event, lambda self: (_ for _ in ()).throw(exc()) if self.training and self.iter % 2 == 0 else None)
    depths, backward = [], []
    class Spy(Callback):
        order = MixedPrecision.order + 1
        def before_batch(self): depths.append(torch.autocast_increment_nesting() - 1); torch.autocast_decrement_nesting()
        def before_backward(self): backward.append(torch.is_autocast_enabled(dev))
    try:
        with learn.no_bar(), learn.no_logging(): learn.fit(2, cbs=[Skip(), Spy()])
        assert not _autocast_left(dev) and set(depths) == {1}  # one region in each batch, also after a cancel: stacked ones kept stale cast weights
        assert (len(backward) > 0) == (cancel == 'Batch') and not any(backward)  # closed after the loss, as fastai's `MixedPrecision` does
    finally: _close_autocast(dev)

def test_an_interrupted_fit_leaves_no_autocast_and_no_hook(adult_df):
    "A Ctrl-C (or any exception) in the middle of a batch left bf16 autocast on for the process and `BinLoss`'s decoder hook in place (the model would not pickle, and kept every decoder output)."
    import pickle
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], bin_targets=4, mixed_precision=False, cbs=[AutoMixedPrecision(torch.bfloat16)])
    dev = torch.device(learn.dls.device or 'cpu').type
    class Stop(Callback):
        def after_pred(self):
            if self.iter == 1: raise KeyboardInterrupt
    try:
        with learn.no_bar(), learn.no_logging(), pytest.raises(KeyboardInterrupt): learn.fit(1, cbs=Stop())
        assert not _autocast_left(dev) and not learn.model.decoder._forward_hooks
        pickle.dumps(learn.model)
    finally: _close_autocast(dev)

def test_every_autocast_an_interrupted_fit_opened_is_closed(adult_df):
    "A mixed-precision callback given to one fit (fastai takes it out of `cbs` before the exception arrives), another callback's own region (as fastai's `MixedPrecision` opens on CUDA), and under a plain fastai `Learner` the next fit: none leaves autocast on; a model attribute named `release` is not mistaken for a callback's."
    from fastai.learner import Learner
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], mixed_precision=False)
    dev = torch.device(learn.dls.device or 'cpu').type
    class Stop(Callback):
        def after_pred(self):
            if self.iter == 1: raise KeyboardInterrupt
    class Opens(Callback):
        def before_batch(self): torch.autocast(dev, dtype=torch.bfloat16).__enter__()
    called = []
    learn.model.release = lambda: called.append(1)
    try:
        for cbs in ([AutoMixedPrecision(torch.bfloat16), Stop()], [Opens(), Stop()]):
            with learn.no_bar(), learn.no_logging(), pytest.raises(KeyboardInterrupt): learn.fit(1, cbs=cbs)
            assert not _autocast_left(dev)
        assert not called
        del learn.model.release
        amp = AutoMixedPrecision(torch.bfloat16)
        plain = Learner(learn.dls, learn.model, loss_func=learn.loss_func, cbs=amp)
        with plain.no_bar(), plain.no_logging():
            with pytest.raises(KeyboardInterrupt): plain.fit(1, cbs=Stop())
            assert _autocast_left(dev)  # fastai's `fit` puts nothing back
            plain.fit(1)
        assert not _autocast_left(dev)
    finally: _close_autocast(dev)

def test_bin_loss_is_added_in_training_only(adult_df):
    "The training loss gains the bins' cross-entropy (weighted n_cont / (n_cat + n_cont)); the validation loss stays `RecreatedLoss`."
    dls = adult_dls(adult_df.iloc[:1500], bs=256)
    learn = ae_learner(dls, code_size=8, layers=[32, 16], bin_targets=4, mixed_precision=False)
    m, seen = learn.model, []
    class Spy(Callback):
        order = 6  # after `BinLoss`
        def before_fit(self): self.hook = m.decoder.register_forward_hook(lambda mod, i, o: setattr(self, 'h', o))
        def after_fit(self): self.hook.remove()
        def after_loss(self):
            logits = m.bin_head(self.h).view(len(self.h), len(CONTS), 4)
            ce = sum(F.cross_entropy(logits[:, j], m.bins(self.yb[1])[:, j]) for j in range(len(CONTS))) / len(CONTS)
            seen.append((self.training, (self.learn.loss_grad - self.learn.loss_func(self.pred, *self.yb)).item(), (ce * len(CONTS) / (len(CATS) + len(CONTS))).item()))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=Spy())
    train, valid = [s for s in seen if s[0]], [s for s in seen if not s[0]]
    assert train and valid and all(abs(d - w) < 1e-5 and w > 0 for _, d, w in train) and all(d == 0 for _, d, _ in valid)

def test_class_balanced_bin_loss(adult_df):
    "With `class_balance`, each bin's cross-entropy is weighted as a class would be: `(count + 1)**-alpha`, averaging 1 over the training rows."
    dls = adult_dls(adult_df.iloc[:1500], bs=256)
    learn = ae_learner(dls, code_size=8, layers=[32, 16], bin_targets=4, class_balance=0.5, mixed_precision=False)
    m, w, seen = learn.model, bin_weights(dls, learn.model.bin_edges, 0.5), []
    bins = m.bins(dls.train.conts)
    for j in range(len(CONTS)):
        counts = torch.bincount(bins[:, j].cpu(), minlength=4).float()
        assert torch.isclose((w[j] * counts).sum() / counts.sum(), torch.tensor(1.)) and w[j][counts.argmin()] >= w[j][counts.argmax()]
    class Spy(Callback):
        order = 6  # after `BinLoss`
        def before_fit(self): self.hook = m.decoder.register_forward_hook(lambda mod, i, o: setattr(self, 'h', o))
        def after_fit(self): self.hook.remove()
        def after_loss(self):
            if not self.training: return
            logits, targ = m.bin_head(self.h).view(len(self.h), len(CONTS), 4), m.bins(self.yb[1])
            ce = sum((F.cross_entropy(logits[:, j], targ[:, j], reduction='none') * w[j][targ[:, j]]).mean() for j in range(len(CONTS))) / len(CONTS)
            seen.append(((self.learn.loss_grad - self.learn.loss_func(self.pred, *self.yb)).item(), (ce * len(CONTS) / (len(CATS) + len(CONTS))).item()))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=Spy())
    assert seen and all(abs(d - want) < 1e-5 for d, want in seen)

def test_bin_inputs_embed_each_numbers_bin(adult_df):
    "With `bin_inputs`, each continuous column's bin has its own embedding after the categorical ones, and the code depends on it."
    dls = adult_dls(adult_df.iloc[:1500], bs=256)
    learn = ae_learner(dls, code_size=8, layers=[32, 16], bin_targets=4, bin_inputs=True, mixed_precision=False)
    m = learn.model.eval()
    assert len(m.embeds) == len(CATS) + len(CONTS) and all(e.num_embeddings == 4 for e in m.embeds[len(CATS):])
    cats, conts = dls.valid.cats[:64], dls.valid.conts[:64]
    with torch.no_grad():
        code = m(cats, conts, encode=True)
        for e in m.embeds[len(CATS):]: e.weight.zero_()
        assert not torch.allclose(m(cats, conts, encode=True), code)

def test_bin_inputs_need_bins_and_numbers(adult_df):
    "The model refuses bin inputs without edges or continuous columns; `ae_learner` on a table without numbers has no bins to embed, so none."
    with pytest.raises(ValueError, match='bin_inputs'): TabularAE([(5, 3)], 2, cat_dict=[5], layers=[8], bin_inputs=True)
    with pytest.raises(ValueError, match='bin_inputs'): TabularAE([(5, 3)], 0, cat_dict=[5], layers=[8], bin_edges=torch.zeros(0, 3), bin_inputs=True)
    learn = ae_learner(adult_dls(adult_df.iloc[:600], CATS, [], bs=64), code_size=4, layers=[8], bin_targets=4, bin_inputs=True)
    assert not learn.model.bin_inputs and learn.model.n_bins == 0 and len(learn.model.embeds) == len(CATS)

def test_models_pickled_before_bin_inputs_still_run(adult_df):
    "A `TabularAE` unpickled from before `bin_inputs` and `code_act` existed has no such attributes: the class defaults (off) apply."
    dls = adult_dls(adult_df.iloc[:600], bs=64)
    m = ae_learner(dls, code_size=4, layers=[8], mixed_precision=False).model.eval()
    cats, conts = dls.valid.cats[:8], dls.valid.conts[:8]
    with torch.no_grad(): want = m(cats, conts, encode=True)
    del m.bin_inputs, m.code_act
    with torch.no_grad(): assert torch.equal(m(cats, conts, encode=True), want) and torch.allclose(FoldedEncoder(m)(cats, conts), want, atol=1e-5)

def test_relu_code_is_rectified_and_folds(adult_df):
    "`code_act='relu'`: the code is the linear code rectified (sparse), in the model, in `FoldedEncoder` and at the end of its deep stack; the decoder reads it."
    dls = adult_dls(adult_df.iloc[:1500], bs=256)
    learn = ae_learner(dls, code_size=16, layers=[32, 16], code_act='relu', mixed_precision=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    m, cats, conts = learn.model.eval(), dls.valid.cats, dls.valid.conts
    with torch.no_grad():
        code, folded, stack = m(cats, conts, encode=True), FoldedEncoder(m)(cats, conts), FoldedEncoder(m)(cats, conts, stack=True)
        m.code_act = None
        linear = m(cats, conts, encode=True)
        m.code_act = 'relu'
        assert torch.equal(code, linear.clamp_min(0)) and 0.05 < (code > 0).float().mean() < 0.95
        assert torch.allclose(folded, code, atol=1e-5) and torch.allclose(stack[:, -16:], code, atol=1e-5)
        assert torch.equal(m(cats, conts)[1], m.decode(code)[1])

@pytest.mark.parametrize('kw,name', [(dict(decoder='tree'), 'decoder'), (dict(bin_targets=1), 'bin_targets'), (dict(bin_targets=-2), 'bin_targets'),
                                     (dict(bin_targets=2.5), 'bin_targets'), (dict(bin_targets=True), 'bin_targets'),
                                     (dict(bin_inputs=1), 'bin_inputs'), (dict(bin_inputs=True), 'bin_inputs'),
                                     (dict(code_act='gelu'), 'code_act'), (dict(code_act=['relu']), 'code_act'), (dict(code_act=True), 'code_act')])
def test_bad_decoder_arguments_are_named(adult_df, kw, name):
    with pytest.raises(TabaeInputError, match=f'`{name}`'): ae_learner(adult_dls(adult_df.iloc[:300], bs=64), **kw)

def test_summary_describes_the_model(small_learn):
    "fastai's `learn.summary()` hooks every module and reads tensors only: the swap noise's column range must not reach its hooks."
    with small_learn.no_bar(): s = small_learn.summary()
    assert 'TabularAE' in s and 'Total params' in s and 'BatchSwapNoise' in s

def test_fastai_callback_state_shadows_no_model_attribute(small_learn, adult_test_df):
    "`Learner` reads attributes it lacks from its model, and a callback warns when its state (`preds`, `inputs`, ...) shadows a learner attribute: no `TabularAE` attribute may bear such a name."
    subs = lambda c: [c] + [s for d in c.__subclasses__() for s in subs(d)]
    state = {n for c in subs(Callback) for n in getattr(c, '_stateattrs', ())}
    assert {'inputs', 'preds'} <= state and not [n for n in state if hasattr(small_learn.model, n)]
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='You are shadowing')
        inp, preds, targs = small_learn.get_preds(dl=small_learn.dls.test_dl(adult_test_df.iloc[:100]), with_input=True)
    assert inp[0].shape == (100, len(small_learn.dls.train_ds.cat_names)) and preds[1].shape == targs[1].shape

def test_predict_rebuilds_and_encodes_one_row(small_learn, adult_test_df):
    "`learn.predict(row)` takes a row as fastai's `TabularLearner.predict` does and gives what `reconstruct` and `encode` give that row."
    df = adult_test_df.iloc[[7]]
    rebuilt, code = small_learn.predict(adult_test_df.iloc[7])  # a Series of mixed values: object dtype
    pd.testing.assert_series_equal(rebuilt, reconstruct(small_learn, df).iloc[0])
    assert isinstance(code, torch.Tensor) and code.shape == (16,)
    np.testing.assert_array_equal(code.numpy(), encode(small_learn, df).to_numpy()[0])
    with pytest.raises(TabaeInputError, match=r'`predict` takes one row as a pandas Series.*DataFrame: for many rows'): small_learn.predict(df)
    with pytest.raises(TabaeInputError, match=r'got dict: wrap it, e.g. `pd.Series\(row\)`'): small_learn.predict(adult_test_df.iloc[7].to_dict())
    with pytest.raises(TabaeInputError, match=r'got Series: a Series is one row or one column, `row.to_frame\(\).T`.*for a row, `col.to_frame\(\)` for a column'): encode(small_learn, adult_test_df.iloc[7])
    code += 1  # its own memory, not a read-only view of pandas' array
    nullable = adult_test_df.iloc[[7]].convert_dtypes().assign(age=pd.NA, race='never seen', extra=1)  # a missing number as pd.NA
    with pytest.warns(UnseenCategoryWarning) as caught: rebuilt, _ = small_learn.predict(nullable.iloc[0])
    assert len(caught) == 1
    with pytest.warns(UnseenCategoryWarning): pd.testing.assert_series_equal(rebuilt, reconstruct(small_learn, nullable.assign(age=np.nan)).iloc[0])
    with pytest.raises(TabaeInputError, match="'age'"): small_learn.predict(adult_test_df.iloc[7].drop('age'))

def test_show_results_on_tiny_and_empty_splits(adult_df, small_learn, tmp_path, monkeypatch):
    "An empty split is named with what to pass instead (fastai says only that a DataLoader has no batches); a one-row split is shown."
    shown = []
    monkeypatch.setattr('tabae.data.display_df', shown.append)
    kw = dict(code_size=8, layers=[32, 16], epochs=1, bs=64, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        none, one = fit_autoencoder(adult_df.iloc[:60], CATS, CONTS, valid_pct=0, **kw), fit_autoencoder(adult_df.iloc[:10], CATS, CONTS, valid_pct=0.1, **kw)
    save_encoder(small_learn, tmp_path / 'ae')
    loaded = load_encoder(tmp_path / 'ae')
    assert (none.dls.valid.n, one.dls.valid.n, loaded.dls.train.n) == (0, 1, 0)
    with none.no_bar(), one.no_bar(), loaded.no_bar():
        with pytest.raises(TabaeInputError, match=r'validation split has no rows.*valid_pct=0.*ds_idx=0'): none.show_results()
        with pytest.raises(TabaeInputError, match=r'training split has no rows.*keeps no rows.*test_dl'): loaded.show_results(ds_idx=0)
        none.show_results(ds_idx=0, max_n=3)
        one.show_results()
        loaded.show_results(dl=loaded.dls.test_dl(adult_df.iloc[:5]), max_n=2)
    assert [len(o) for o in shown] == [6, 2, 4]  # each row above its rebuild

def test_show_results_puts_each_row_above_its_rebuild(small_learn, monkeypatch):
    "`learn.show_results()` shows rows and their rebuilds in labels and original units, the user's columns only."
    dl = small_learn.dls.valid
    b = dl.one_batch()
    with small_learn.no_bar():
        _, _, dec = small_learn.get_preds(dl=[b], with_decoded=True)
        raw, _ = small_learn.get_preds(dl=[b])
    res = dl.show_results(b, dec, max_n=4, show=False)
    cols = sum(user_columns(dl.dataset), [])
    assert list(res.columns) == cols and list(res.index) == [(i, k) for i in range(4) for k in ('input', 'rebuilt')]
    inputs, rebuilt = res.xs('input', level=1), res.xs('rebuilt', level=1)
    truth = dl.dataset.new(dl.dataset.items.iloc[:4].copy()).decode().items[cols].reset_index(drop=True)  # the first validation rows (`decode` works in place)
    pd.testing.assert_frame_equal(inputs, truth, check_dtype=False, rtol=1e-5, atol=1e-3)  # float32 tensors, back in original units
    want = decode_outputs(small_learn, raw).iloc[:4].reset_index(drop=True)
    want[cols[:len(user_columns(dl.dataset)[0])]] = want[user_columns(dl.dataset)[0]].astype(object).fillna('#na#')  # shown as fastai shows it, where `reconstruct` has a gap
    pd.testing.assert_frame_equal(rebuilt, want, check_dtype=False)
    shown = []
    monkeypatch.setattr('tabae.data.display_df', shown.append)
    with small_learn.no_bar(): small_learn.show_results(max_n=2)
    with small_learn.no_bar(): assert small_learn.show_results(max_n=3, show=False).shape == (6, len(cols))  # the rows, as the loader's returns them (fastai's returned nothing)
    assert len(shown) == 1 and shown[0].shape == (4, len(cols)) and set(shown[0]['race']) <= set(small_learn.dls.train_ds.classes['race'])  # labels (shuffled rows)

def test_tta_is_refused_with_what_to_use(small_learn, adult_test_df):
    "fastai's `tta` failed with \"AttributeError: set_split_idx\" inside fastai; it now says what gives predictions."
    with pytest.raises(TabaeInputError, match=r'`tta`.*get_preds.*reconstruct.*encode'): small_learn.tta()
    with pytest.raises(TabaeInputError, match=r'`tta`'): small_learn.tta(dl=small_learn.dls.test_dl(adult_test_df.iloc[:50]))

def test_of_two_automatic_mixed_precisions_the_first_runs(adult_df):
    "An `AutoMixedPrecision` passed in `cbs` runs and `ae_learner`'s own stands down (they switched each other off; both running nest their autocasts wrongly and leave it on)."
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], cbs=[AutoMixedPrecision(torch.bfloat16)])
    mine, default = [c for c in learn.cbs if isinstance(c, AutoMixedPrecision)]
    runs = []
    class Spy(Callback):
        order = MixedPrecision.order + 1
        def before_batch(self): runs.append((mine.run, default.run))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=Spy())
    assert runs and set(runs) == {(True, False)} and mine.dtype == torch.bfloat16 and not torch.is_autocast_enabled('cpu')

@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_automatic_mixed_precision_takes_the_dtype_given(adult_df, dtype):
    "`AutoMixedPrecision(dtype)` autocasts to that dtype whatever the device would pick, and scales the loss for fp16 only (bf16 has float32's range)."
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], mixed_precision=False, cbs=[AutoMixedPrecision(dtype)])
    seen = []
    class Spy(Callback):
        order = MixedPrecision.order + 1
        def before_batch(self):
            dev = torch.device(self.dls.device or 'cpu').type  # the GPU's autocast where there is one
            seen.append((torch.is_autocast_enabled(dev), torch.get_autocast_dtype(dev), self.learn.scaler.is_enabled()))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=Spy())
    assert seen and set(seen) == {(True, dtype, dtype == torch.float16)}

def test_metrics_of_learners_exported_before_their_options_still_score():
    "`ReconR2.na_flags` and `CatAccuracy.cols` came later: a metric unpickled without them scores every column (`validate` raised AttributeError)."
    from types import SimpleNamespace
    from sklearn.metrics import r2_score
    from tabae.metrics import CatAccuracy, ReconR2
    r2, acc = ReconR2.__new__(ReconR2), CatAccuracy.__new__(CatAccuracy)
    acc.__dict__.update(decode=RecreatedLoss([3, 2]).decodes)  # an old pickle's state: what `__init__` set then
    g = torch.Generator().manual_seed(0)
    logits, cats = torch.randn(50, 5, generator=g), torch.randint(0, 2, (50, 2), generator=g)
    pred, targ = torch.randn(50, 3, generator=g), torch.randn(50, 3, generator=g)
    learn = SimpleNamespace(pred=(logits, pred), yb=(cats, targ), to_detach=lambda t, cpu=False: t)
    for m in (r2, acc): m.reset(); m.accumulate(learn)
    assert r2.value == pytest.approx(np.mean([r2_score(targ[:, i], pred[:, i]) for i in range(3)]), rel=1e-5)
    hit = [(logits[:, :3].argmax(1) == cats[:, 0]).float().mean(), (logits[:, 3:].argmax(1) == cats[:, 1]).float().mean()]
    assert acc.value == pytest.approx(float(sum(hit) / 2))

def test_to_fp16_replaces_the_automatic_mixed_precision(adult_df, monkeypatch):
    "After `to_fp16()` only fastai's `MixedPrecision` runs: both callbacks stepping one shared `learn.scaler` failed on a GPU ('No inf checks were recorded')."
    monkeypatch.setattr(sys.modules['tabae.precision'], 'amp_dtype', lambda device=None: torch.bfloat16)  # tabae's callback runs on any CPU: the same expectation on every machine
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16])
    amp = first(cb for cb in learn.cbs if isinstance(cb, AutoMixedPrecision))
    runs = []
    class Spy(Callback):
        order = MixedPrecision.order + 1
        def before_batch(self): runs.append(amp.run)
    for half in (None, learn.to_fp16):
        if half: half()
        runs.clear()
        with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=Spy())
        assert runs and set(runs) == {half is None}

def test_to_bf16_autocasts_in_bf16_on_any_device(adult_df):
    "`to_bf16()` trains in bf16 on the CPU too (fastai's `MixedPrecision` autocasts on CUDA only, and tabae's own stood aside for it, so nothing was cast), with one mixed-precision callback."
    learn = ae_learner(adult_dls(adult_df.iloc[:600], bs=128), code_size=4, layers=[16], mixed_precision=False).to_bf16()
    seen = []
    class Spy(Callback):
        order = MixedPrecision.order + 1
        def before_batch(self):
            dev = torch.device(self.dls.device or 'cpu').type
            seen.append((torch.is_autocast_enabled(dev), torch.get_autocast_dtype(dev)))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=Spy())
    assert seen and set(seen) == {(True, torch.bfloat16)} and len([c for c in learn.cbs if isinstance(c, MixedPrecision)]) == 1

def test_class_balance_and_emb_szs_reach_the_loss_and_the_model(adult_df, tmp_path):
    "`class_balance` sets the categorical and the bin loss weights (not the default 0.5's); `emb_szs` sets a column's embedding width, kept by `save_encoder`."
    dls = adult_dls(adult_df.iloc[:2000])
    learn = ae_learner(dls, code_size=4, layers=[16], class_balance=1.0, bin_targets=4, emb_szs={'workclass': 7})
    want, half = torch.cat(class_weights(dls, 1.0)), torch.cat(class_weights(dls, 0.5))
    assert torch.allclose(learn.loss_func.class_weights, want) and not torch.allclose(want, half)
    bl = first(cb for cb in learn.cbs if isinstance(cb, BinLoss))
    assert torch.allclose(bl.class_weights, bin_weights(dls, learn.model.bin_edges, 1.0)) and not torch.allclose(bl.class_weights, bin_weights(dls, learn.model.bin_edges, 0.5))
    i = list(dls.train_ds.cat_names).index('workclass')
    assert learn.model.embeds[i].embedding_dim == 7
    assert load_encoder(save_encoder(learn, tmp_path / 'enc')).model.embeds[i].embedding_dim == 7

def test_dataloaders_processed_apart_from_the_models_data_are_refused(adult_df, adult_test_df, tmp_path):
    "`learn.dls = AEDataLoaders.from_df(new_df)` brings procs of its own: classes renumbered (one class fewer: no error, every later one meant another; one more: an IndexError), other scales. `fit`, `lr_find`, `validate`, `get_preds`, `show_results`, `encode` and `save_encoder` refuse them, validation rows too (it saved a directory `load_encoder` refused) and say how to process new rows; the model's own `test_dl` rows train; a learner pickled before the check is not checked."
    from tabae import AEDataLoaders, ae_learner, encode, save_encoder
    cats, conts = adult_columns('adult-9')
    dls = AEDataLoaders.from_df(adult_df.iloc[:1500], cat_names=cats, cont_names=conts, bs=128, device='cpu')
    learn = ae_learner(dls, code_size=4, layers=[16], mixed_precision=False)
    new = adult_test_df.iloc[:600]
    learn.dls = AEDataLoaders.from_df(new, cat_names=cats, cont_names=conts, bs=128, device='cpu')
    for f in (lambda: learn.fit(1), lambda: learn.lr_find(show_plot=False), lambda: encode(learn, new), lambda: save_encoder(learn, tmp_path / 'x'),
              learn.validate, lambda: learn.get_preds(dl=learn.dls.test_dl(new)), learn.show_results):
        with pytest.raises(TabaeInputError, match=r"`learn.dls` holds rows processed apart from the data this model was built on \((classes|means|stds) of '.+' unlike the model's data\).*AEDataLoaders\(dls.test_dl\(df"): f()
    assert not (tmp_path / 'x').exists()
    plain = ae_learner(AEDataLoaders.from_df(adult_df.iloc[:1500], cat_names=cats, cont_names=conts, procs=[Categorify, Normalize], bs=128, device='cpu'), code_size=4, layers=[16])
    for l, kw, what in [(learn, dict(cont_names=conts[:-1]), 'other columns'), (learn, dict(procs=[Categorify, Normalize]), "no FillMissing, unlike the model's data"),
                        (plain, dict(procs=[FillMissing, Categorify, Normalize]), "a FillMissing, unlike the model's data")]:
        l.dls = AEDataLoaders.from_df(adult_df.iloc[:1500], **{'cat_names': cats, 'cont_names': conts, **kw}, bs=128, device='cpu')  # the model's rows, so only this differs
        with pytest.raises(TabaeInputError, match=rf"processed apart from the data this model was built on \({what}\)"): l.fit(1)
    learn.dls = AEDataLoaders(dls.test_dl(new.iloc[:400], shuffle=True, drop_last=True, bs=128), AEDataLoaders.from_df(new, cat_names=cats, cont_names=conts, device='cpu').valid)
    with pytest.raises(TabaeInputError, match="processed apart"): learn.fit(1)  # the validation rows too: early stopping would read them
    learn.dls = AEDataLoaders(dls.test_dl(new.iloc[:400], shuffle=True, drop_last=True, bs=128), dls.test_dl(new.iloc[400:]))
    with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn.fit(1, 1e-3)
        assert encode(learn, new).shape == (600, 4) and len(learn.get_preds(1, None, True)) == 3  # fastai's positional arguments: with_input
    learn.dls.loaders.append([])  # a loader of no tabular rows: nothing to compare (it raised an AttributeError)
    assert encode(learn, new).shape == (600, 4)
    learn.dls.loaders.pop()
    learn.dls = AEDataLoaders.from_df(new, cat_names=cats, cont_names=conts, bs=128, device='cpu')
    del learn._procs  # pickled by a tabae before the check
    assert encode(learn, new).shape == (600, 4)

def test_lr_find_leaves_the_model_in_its_mode(small_learn):
    "fastai's `lr_find` left the model training, so `learn.model(..., encode=True)` after it gave codes with swap noise; the mode it was in is put back."
    small_learn.model.eval()
    with small_learn.no_bar(), small_learn.no_logging(): small_learn.lr_find(num_it=5, show_plot=False)
    assert not small_learn.model.training

def test_freeze_keeps_the_encoder_for_fine_tune(adult_df, tmp_path):
    "`ae_learner` and `load_encoder` split the parameters into encoder and decoder-and-heads, so `freeze` (as `fine_tune`'s first epoch) trains the decoder and heads alone (it froze nothing: there was one group); `splitter=` still overrides it."
    from tabae import AEDataLoaders, ae_learner, ae_splitter, load_encoder, save_encoder
    from fastai.tabular.all import trainable_params
    cats, conts = adult_columns('adult-9')
    dls = AEDataLoaders.from_df(adult_df.iloc[:600], cat_names=cats, cont_names=conts, bs=64, device='cpu')
    learn = ae_learner(dls, code_size=4, layers=[16], input_skip=True, mixed_precision=False)
    enc, dec = ae_splitter(learn.model)
    assert {id(p) for p in enc}.isdisjoint(map(id, dec)) and len(enc) + len(dec) == len(list(learn.model.parameters()))
    assert any(p is learn.model.skip.weight for p in enc) and any(p is learn.model.cat_head[-1].weight for p in dec)
    before, dec_before = [p.detach().clone() for p in enc if p.ndim > 1], [p.detach().clone() for p in dec]  # linear and embedding weights (BatchNorm trains while frozen, as in fastai)
    learn.freeze()
    with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn.fit(1, 1e-2)
    assert all(torch.equal(a, p) for a, p in zip(before, [p for p in enc if p.ndim > 1])) and not all(torch.equal(a, p) for a, p in zip(dec_before, dec))
    assert load_encoder(save_encoder(learn, tmp_path / 'e'), device='cpu').splitter is ae_splitter
    assert ae_learner(dls, code_size=4, layers=[16], splitter=trainable_params).splitter is trainable_params

def test_cont_bounds_of_no_rows_is_refused(adult_df):
    "`cont_bounds` of DataLoaders without training rows (a loaded learner's, `new_empty`) says so instead of taking the min of nothing."
    dls = adult_dls(adult_df.iloc[:300])
    low, high = cont_bounds(dls)
    assert (low < high).all() and len(low) == len(CONTS)
    with pytest.raises(TabaeInputError, match="The training split has no rows: cannot set the continuous bounds"): cont_bounds(dls.new_empty())
