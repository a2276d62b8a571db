import json, os, pickle, warnings
from pathlib import Path
from fastcore.basics import first
import numpy as np, pandas as pd, pytest, torch
from fastai.learner import load_learner
from fastai.tabular.all import Adam, Categorify, ranger, FillMissing, Normalize, TabularProc, nn
from tabae import *

KW = dict(code_size=8, layers=[32, 16], epochs=1, bs=64, progress=False)

def frame(n=160, seed=0):
    "Text, int and mixed categories; NaN and inf in a continuous column; names with spaces and unicode."
    r = np.random.default_rng(seed)
    return pd.DataFrame({'ville natale': r.choice(['x', 'y', 'z'], n), 'n': r.integers(0, 4, n),
                         'mixed': pd.Series([[1, 'a', 2.5][i] for i in r.integers(0, 3, n)], dtype=object),
                         'größe': np.where(r.random(n) < 0.1, np.nan, r.normal(size=n)), 'd': r.normal(50, 10, n)})

CATS, CONTS = ['ville natale', 'n', 'mixed'], ['größe', 'd']

def fit(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fit_autoencoder(df, CATS, CONTS, **{**KW, **kw})

@pytest.fixture(scope='module')
def learn(): return fit(frame())

@pytest.fixture(scope='module')
def saved(learn, tmp_path_factory): return save_encoder(learn, tmp_path_factory.mktemp('enc') / 'model')

def test_round_trip_is_exact(learn, saved):
    assert sorted(os.listdir(saved)) == ['model.safetensors', 'tabae.json']
    loaded = load_encoder(saved, device='cpu')
    assert isinstance(loaded, AELearner) and isinstance(loaded.dls, AEDataLoaders) and next(loaded.model.parameters()).device.type == 'cpu'
    df = frame(90, seed=1)
    assert np.array_equal(encode(loaded, df).values, encode(learn, df).values)
    assert loaded.encode(df).equals(learn.encode(df))  # the patched `Learner` methods work too
    assert reconstruct(loaded, df).equals(reconstruct(learn, df))
    assert evaluate(loaded, df).summary.equals(evaluate(learn, df).summary)

def test_loss_and_its_class_weights_round_trip(learn, saved):
    "The class-balanced loss (`fit_autoencoder`'s default) comes back with its weights, so fine-tuning a loaded encoder optimizes the same loss."
    assert learn.loss_func.class_weights is not None
    loaded = load_encoder(saved, device='cpu')
    assert torch.equal(loaded.loss_func.class_weights, learn.loss_func.class_weights)
    cats, conts = process_frame(learn, frame(40, seed=3))
    with torch.no_grad(): preds = loaded.model.eval()(cats, conts)
    assert torch.equal(loaded.loss_func(preds, cats, conts), learn.loss_func(preds, cats, conts))

def test_loaded_learner_refuses_to_fit_without_rows(saved, tmp_path):
    "A loaded encoder keeps no rows: `fit`, `fit_one_cycle`, `lr_find` and `summary` say how to give it data (fastai trained on nothing and printed nan, or divided by zero), `validate` that it has none (fastai's gave [None, None, None]); with data it fine-tunes, and the `AEDataLoaders` the message suggests keep `test_dl` (plain `DataLoaders` lost it), `validate` and saving."
    loaded, df = load_encoder(saved, device='cpu'), frame(120, seed=2)
    for f in (lambda: loaded.fit(1), lambda: loaded.fit_one_cycle(1), lambda: loaded.lr_find(show_plot=False), loaded.summary):
        with pytest.raises(TabaeInputError, match=r"The training split has no rows .*`dls = learn.dls; learn.dls = AEDataLoaders\(dls.test_dl\(df, shuffle=True, drop_last=True\), dls.test_dl\(valid_df\)\)`"): f()
    with pytest.raises(TabaeInputError, match=r"The validation split has no rows to validate on .*`dl=learn.dls.test_dl\(df\)`"): loaded.validate()
    loaded.dls = AEDataLoaders(loaded.dls.test_dl(df, shuffle=True, drop_last=True, bs=32), loaded.dls.test_dl(frame(40, seed=3)))
    with warnings.catch_warnings(), loaded.no_bar(), loaded.no_logging():
        warnings.simplefilter('ignore')
        loaded.fit(1, 1e-3)
        assert len(loaded.recorder.values) == 1 and np.isfinite(loaded.recorder.values[0]).all() and np.isfinite(loaded.validate()).all()
        assert len(loaded.get_preds(dl=loaded.dls.test_dl(frame(30, seed=4)))[0][1]) == 30
        assert np.array_equal(encode(load_encoder(save_encoder(loaded, tmp_path / 'tuned'), device='cpu'), df).values, encode(loaded, df).values)

def test_loaded_learner_fine_tunes_with_the_same_optimizer(learn, saved, tmp_path):
    "A loaded encoder fine-tunes with `ae_learner`'s optimizer and the saved weight decay (it got fastai's Adam with no weight decay, and fine-tuning wrecked the rebuilds)."
    loaded = load_encoder(saved, device='cpu')
    assert (loaded.opt_func, loaded.wd) == (learn.opt_func, learn.wd) == (ranger, 0.01)
    assert load_encoder(saved, device='cpu', opt_func=Adam).opt_func is Adam
    learn.wd = 0.05
    try: assert load_encoder(save_encoder(learn, tmp_path / 'wd'), device='cpu').wd == 0.05
    finally: learn.wd = 0.01
    old = copy_encoder(saved, tmp_path / 'old')  # written before the weight decay was saved: `ae_learner`'s
    cfg = json.loads((old / 'tabae.json').read_text(encoding='utf-8'))
    cfg.pop('wd')
    (old / 'tabae.json').write_text(json.dumps(cfg), encoding='utf-8')
    assert load_encoder(old, device='cpu').wd == 0.01

def test_loaded_learner_validates_with_the_same_metrics(learn, saved):
    "`validate` on a loaded encoder reports the loss, `recon_r2` and `cat_acc` as the fitted learner does (it used to report the loss alone)."
    loaded, df = load_encoder(saved, device='cpu'), frame(90, seed=1)
    assert [m.name for m in loaded.metrics] == [m.name for m in learn.metrics] == ['recon_r2', 'cat_acc']
    assert any(isinstance(cb, FiniteLoss) for cb in loaded.cbs)  # fine-tuning a loaded encoder stops at a NaN loss too
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got, want = (l.validate(dl=l.dls.test_dl(df)) for l in (loaded, learn))
    assert len(got) == 3 and np.allclose(got, want, atol=1e-4)

def test_bin_loss_and_its_weights_round_trip(learn, saved):
    "The bin targets' loss (`BinLoss`, class-balanced by default) and mixed precision come back too, so a loaded encoder fine-tunes as the fit did."
    bin_cb = lambda l: first(c for c in l.cbs if isinstance(c, BinLoss))
    want = bin_cb(learn).class_weights
    assert want is not None and want.shape == (len(CONTS), learn.model.n_bins)
    got = bin_cb(load_encoder(saved, device='cpu')).class_weights
    assert torch.equal(got, want)
    assert any(isinstance(c, AutoMixedPrecision) for c in load_encoder(saved).cbs)  # as `ae_learner`'s default
    assert not any(isinstance(c, AutoMixedPrecision) for c in load_encoder(saved, mixed_precision=False).cbs)
    plain = fit(frame(), class_balance=0.)
    assert bin_cb(load_encoder(save_encoder(plain, Path(saved).parent / 'plain'))).class_weights is None
    assert bin_cb(load_encoder(save_encoder(fit(frame(), **ARTICLE_RECIPE | KW), Path(saved).parent / 'article'))) is None

def test_unweighted_loss_saves_no_weights(tmp_path):
    learn = fit(frame(), class_balance=0.)
    saved = save_encoder(learn, tmp_path / 'm')
    assert json.loads((saved / 'tabae.json').read_text(encoding='utf-8'))['class_weights'] is None
    assert load_encoder(saved).loss_func.class_weights is None

def test_linear_decoder_and_bin_head_round_trip(tmp_path):
    learn = fit(frame(), decoder='linear', bin_targets=8, bin_inputs=True)
    saved = save_encoder(learn, tmp_path / 'm')
    cfg = json.loads((saved / 'tabae.json').read_text(encoding='utf-8'))
    assert cfg['model']['decoder'] == 'linear' and cfg['model']['n_bins'] == 8 and cfg['model']['bin_inputs'] is True
    assert len(cfg['model']['emb_szs']) == len(learn.model.n_classes) == 4 and len(learn.model.embeds) == 4 + len(CONTS)  # größe_na added
    loaded = load_encoder(saved, device='cpu')
    assert torch.equal(loaded.model.bin_edges, learn.model.bin_edges.cpu()) and len(loaded.model.decoder) == 1
    df = frame(90, seed=1)
    assert np.array_equal(encode(loaded, df).values, encode(learn, df).values) and reconstruct(loaded, df).equals(reconstruct(learn, df))

def test_relu_code_round_trips_as_version_3(learn, saved, tmp_path):
    "A rectified code is saved by name in format version 3 (a tabae that reads only version 2 refuses it rather than drop the activation); a linear code stays version 2."
    relu = fit(frame(), code_act='relu', clip_inputs=False, input_skip=False, bound_pad=0.)
    path = save_encoder(relu, tmp_path / 'm')
    cfg = json.loads((path / 'tabae.json').read_text(encoding='utf-8'))
    assert cfg['version'] == 3 and cfg['model']['code_act'] == 'relu'
    assert json.loads((save_encoder(fit(frame(), clip_inputs=False, input_skip=False, bound_pad=0.), tmp_path / 'lin') / 'tabae.json').read_text(encoding='utf-8'))['version'] == 2
    df = frame(90, seed=1)
    codes = encode(load_encoder(path), df)
    assert np.array_equal(codes.values, encode(relu, df).values) and (codes.values >= 0).all() and (codes.values == 0).any()
    cfg['model']['code_act'] = 'os.system'
    (path / 'tabae.json').write_text(json.dumps(cfg), encoding='utf-8')
    with pytest.raises(TabaeInputError, match='code_act'): load_encoder(path)

def test_clipping_and_skip_round_trip_as_version_4(learn, saved, tmp_path):
    "The default model clips its inputs and has the input skip; without a padded head (version 5, below) it is saved as format version 4 (an older tabae refuses it rather than drop either); loaded, it clips as the original; a version 3 file without the keys loads unclipped, without a skip."
    cfg = json.loads((saved / 'tabae.json').read_text(encoding='utf-8'))
    assert cfg['model']['clip_inputs'] is True and cfg['model']['input_skip'] is True
    assert json.loads((save_encoder(fit(frame(), bound_pad=0.), tmp_path / 'v4') / 'tabae.json').read_text(encoding='utf-8'))['version'] == 4
    far, farther = frame(90, seed=1).assign(d=1e6), frame(90, seed=1).assign(d=1e9)
    loaded = load_encoder(saved)
    assert np.array_equal(encode(loaded, far).values, encode(learn, far).values) and np.array_equal(encode(loaded, far).values, encode(loaded, farther).values)
    assert torch.equal(loaded.model.skip.weight, learn.model.skip.weight.cpu())
    assert json.loads((save_encoder(fit(frame(), clip_inputs=False, input_skip=True, bound_pad=0.), tmp_path / 'skip') / 'tabae.json').read_text(encoding='utf-8'))['version'] == 4
    v3 = save_encoder(fit(frame(), input_skip=False), tmp_path / 'v3')
    cfg = json.loads((v3 / 'tabae.json').read_text(encoding='utf-8'))
    for k in ('clip_inputs', 'input_skip'): cfg['model'].pop(k)
    cfg['version'] = 3
    (v3 / 'tabae.json').write_text(json.dumps(cfg), encoding='utf-8')
    old = load_encoder(v3)
    assert not old.model.clip_inputs and not np.array_equal(encode(old, far).values, encode(old, farther).values)

def test_config_without_decoder_keys_loads_as_mirrored(tmp_path):
    "Encoders saved before `decoder`, `n_bins`, `bin_inputs` and `bin_weights` existed (format version 1) load as the mirrored decoder without bins."
    learn = fit(frame(), decoder='mirror', bin_targets=0, bin_inputs=False, clip_inputs=False, input_skip=False)
    saved = save_encoder(learn, tmp_path / 'm')
    cfg = json.loads((saved / 'tabae.json').read_text(encoding='utf-8'))
    for k in ('decoder', 'n_bins', 'bin_inputs', 'code_act', 'clip_inputs', 'input_skip'): cfg['model'].pop(k)
    cfg.pop('bin_weights'); cfg['version'] = 1  # as version 1 wrote them
    (saved / 'tabae.json').write_text(json.dumps(cfg), encoding='utf-8')
    df = frame(90, seed=1)
    assert np.array_equal(encode(load_encoder(saved), df).values, encode(learn, df).values)

def test_json_describes_the_encoder(learn, saved):
    cfg = json.loads((saved / 'tabae.json').read_text(encoding='utf-8'))
    assert cfg['cont_names'] == CONTS and cfg['cat_names'] == CATS + ['größe_na']
    assert {'FillMissing', 'Categorify', 'Normalize'} <= {p['proc'] for p in cfg['procs']}
    assert cfg['model']['code_size'] == 8 and cfg['model']['layers'] == [32, 16]
    again = save_encoder(load_encoder(saved), saved.parent / 'again')
    assert (again / 'tabae.json').read_text(encoding='utf-8') == (saved / 'tabae.json').read_text(encoding='utf-8')

def test_load_reads_no_pickle(saved, monkeypatch):
    def boom(*a, **k): raise AssertionError('pickle used')
    for mod, name in [(pickle, 'load'), (pickle, 'loads'), (pickle, 'Unpickler'), (torch, 'load')]: monkeypatch.setattr(mod, name, boom)
    assert finite_codes(load_encoder(saved))

def finite_codes(learn): return np.isfinite(encode(learn, frame(20, seed=2)).values).all()

class Payload:
    "Unpickling this runs code: it creates the file `path`."
    def __init__(self, path): self.path = str(path)
    def __reduce__(self): return (open, (self.path, 'w'))

def copy_encoder(src, dst):
    dst.mkdir()
    for f in os.listdir(src): (dst / f).write_bytes((src / f).read_bytes())
    return dst

def test_tampered_weights_do_not_run(saved, tmp_path):
    bad, marker = copy_encoder(saved, tmp_path / 'bad'), tmp_path / 'pwned'
    (bad / 'model.safetensors').write_bytes(pickle.dumps({'w': Payload(marker)}))
    with pytest.raises(TabaeInputError, match='valid tabae encoder'): load_encoder(bad)
    assert not marker.exists()

@pytest.mark.parametrize('tamper,msg', [
    (lambda c: c['model'].update(act='os.system'), 'activation'),
    (lambda c: c['procs'].append({'proc': 'Evil'}), 'Evil'),
    (lambda c: c['model'].update(code_size=9), 'size mismatch'),
    (lambda c: c.update(version=99), 'version'),
    (lambda c: c['model'].update(clip_inputs='false'), 'clip_inputs.*true or false'),  # a string would read as True
    (lambda c: c['model'].update(input_skip=1), 'input_skip.*true or false'),
    (lambda c: c['procs'][1]['classes'][0][1].pop(0), 'Categorify'),
    (lambda c: c.pop('model'), r"KeyError: 'model'"),
    (lambda c: c['class_weights'][0].pop(), 'class weights'),
    (lambda c: c['bin_weights'].pop(), 'bin weights'),
    (lambda c: c['bin_weights'][0].__setitem__(0, float('nan')), 'bin weights must be finite'),
    (lambda c: c['class_weights'][0].__setitem__(0, -1.), 'class weights must be finite'),
    (lambda c: c['class_weights'][0].__setitem__(0, float('inf')), 'class weights must be finite'),
    (lambda c: c['cont_names'].__setitem__(1, c['cont_names'][0]), 'column names repeat'),
    (lambda c: c.__setitem__('wd', 'high'), "weight decay 'high' is not a number"),
    (lambda c: c.__setitem__('wd', True), "weight decay True is not a number"),  # a bool would load as 1.0
    (lambda c: c['model'].__setitem__('bound_pad', -0.1), "`bound_pad` must be None or a number >= 0, got -0.1"),
    (lambda c: c['cont_names'].pop(), r'its columns \(4 categorical with \[\d+, \d+, \d+, \d+\] classes, 1 continuous\) do not match its weights'),  # encoded wrongly, not refused, before
])
def test_tampered_config_is_refused(saved, tmp_path, tamper, msg):
    bad = copy_encoder(saved, tmp_path / 'bad')
    cfg = json.loads((bad / 'tabae.json').read_text(encoding='utf-8'))
    tamper(cfg)
    (bad / 'tabae.json').write_text(json.dumps(cfg), encoding='utf-8')
    with pytest.raises(TabaeInputError, match=msg): load_encoder(bad)

def test_bin_weights_without_a_bin_head_are_refused(tmp_path):
    saved = save_encoder(fit(frame(), **ARTICLE_RECIPE | KW), tmp_path / 'article')
    cfg = json.loads((saved / 'tabae.json').read_text(encoding='utf-8'))
    assert cfg['bin_weights'] is None
    cfg['bin_weights'] = [[1., 1.], [1., 1.]]
    (saved / 'tabae.json').write_text(json.dumps(cfg), encoding='utf-8')
    with pytest.raises(TabaeInputError, match='without a bin head'): load_encoder(saved)

def test_missing_or_broken_files(saved, tmp_path):
    with pytest.raises(TabaeInputError, match='tabae.json is missing'): load_encoder(tmp_path)
    bad = copy_encoder(saved, tmp_path / 'bad')
    (bad / 'tabae.json').write_text('{not json', encoding='utf-8')
    with pytest.raises(TabaeInputError, match='valid tabae encoder'): load_encoder(bad)

def test_rank_gauss_and_int_names_round_trip(tmp_path):
    "Integer column names and RankGauss (its `n_quantiles` too) come back; the encoder is saved into a new nested folder."
    df = frame().rename(columns={'n': 0, 'd': 1})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(df, ['ville natale', 0], ['größe', 1], procs=[Categorify, FillMissing, RankGauss(n_quantiles=50), Normalize], **KW)
    loaded = load_encoder(save_encoder(learn, tmp_path / 'new' / 'nested' / 'rg'))
    assert loaded.dls.train_ds.cont_names == ['größe', 1] and first(p for p in loaded.dls.train_ds.procs if isinstance(p, RankGauss)).n_quantiles == 50
    assert np.array_equal(encode(loaded, df).values, encode(learn, df).values)

@pytest.mark.parametrize('swap_p', [0.3, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]], ids=['one rate', 'per column'])
def test_swap_noise_rates_round_trip(tmp_path, swap_p):
    "The swap noise rate (one, or one per input column: the three cats, `größe_na`, then the two conts) is saved, so fine-tuning a loaded encoder uses it."
    loaded = load_encoder(save_encoder(fit(frame(), swap_p=swap_p, anneal_noise=None), tmp_path / 'ae'))
    assert loaded.model.noise.p == pytest.approx(swap_p)

def test_mish_is_saved_by_name_and_loads_as_fast_mish(tmp_path):
    "A plain `nn.Mish` model and a `FastMish` one both save as 'Mish' (one function) and load as `FastMish`, with the same codes."
    df = frame(60)
    for act in (nn.Mish, FastMish):
        learn = fit(df, act_cls=act)
        path = save_encoder(learn, tmp_path / act.__name__)
        assert json.loads((path / 'tabae.json').read_text())['model']['act'] == 'Mish'
        loaded = load_encoder(path)
        assert type(loaded.model.layers[0][1]) is FastMish
        assert np.array_equal(encode(loaded, df).values, encode(learn, df).values)

class Clip(TabularProc):
    "A proc `tabae.json` cannot describe."
    def encodes(self, to): to.conts = to.conts.clip(-3, 3)

@pytest.mark.parametrize('kw,msg', [(dict(procs=[FillMissing, Categorify, Normalize, Clip]), 'Clip'), (dict(act_cls=nn.Hardswish), 'Hardswish'),
                                    (dict(act_cls=nn.LeakyReLU(0.3)), 'layout')])
def test_unsavable_learners_are_refused(tmp_path, kw, msg):
    with pytest.raises(TabaeInputError, match=msg): save_encoder(fit(frame(60), **kw), tmp_path)
    assert not (tmp_path / 'tabae.json').exists()

def test_export_round_trip_without_training_rows(learn, tmp_path):
    learn.export(tmp_path / 'ae.pkl')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loaded = load_learner(tmp_path / 'ae.pkl')
    assert len(loaded.dls.train_ds.items) == 0 and len(loaded.dls.valid_ds.items) == 0 and len(loaded.dls.train.cats) == 0
    assert isinstance(loaded, AELearner) and isinstance(loaded.dls, AEDataLoaders)  # `predict` and `test_dl` as before the export
    df = frame(50, seed=3)
    assert np.array_equal(encode(loaded, df).values, encode(learn, df).values)

def test_export_size_does_not_grow_with_rows(tmp_path):
    "The export holds no training frame: 20x more training rows leave its size (nearly) unchanged."
    sizes = []
    for n in (100, 2000):
        learn = fit(frame(n).assign(n=1, mixed='a'))  # same vocabularies at both sizes
        learn.export(tmp_path / f'{n}.pkl')
        sizes.append((tmp_path / f'{n}.pkl').stat().st_size)
    assert abs(sizes[1] - sizes[0]) < 2_000  # the 1,900 extra rows alone would add > 40 kB

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.cuda
def test_load_on_gpu(learn, saved):
    gpu = load_encoder(saved, device='cuda')
    assert next(gpu.model.parameters()).is_cuda
    df = frame(90, seed=1)
    assert np.allclose(encode(gpu, df, mixed_precision=False).values, encode(learn, df, mixed_precision=False).values, atol=1e-4)
    assert np.array_equal(encode(gpu, df).values, encode(load_encoder(saved, device='cuda'), df).values)

def test_fill_missing_without_flag_columns_and_weight_decay_round_trip(tmp_path):
    "`FillMissing(add_col=False)` and a weight decay of 0 (or None) come back as saved (a loaded FillMissing added flag columns the model lacks; 0 became 0.01)."
    df = frame()
    learn = fit(df, procs=[Categorify, FillMissing(add_col=False), Normalize], wd=0.)
    loaded = load_encoder(save_encoder(learn, tmp_path / 'a'))
    assert first(p for p in loaded.dls.train_ds.procs if isinstance(p, FillMissing)).add_col is False
    assert loaded.wd == 0 and np.array_equal(encode(loaded, df).values, encode(learn, df).values)
    learn.wd = None
    assert load_encoder(save_encoder(learn, tmp_path / 'b')).wd is None

def test_load_encoder_goes_to_the_device_asked_for(saved, monkeypatch):
    "`device='cpu'` wins over the default device (a GPU where there is one)."
    monkeypatch.setattr('tabae.persist.default_device', lambda *a: torch.device('meta'))
    assert next(load_encoder(saved, device='cpu').model.parameters()).device.type == 'cpu'

def test_the_training_range_clamp_round_trips(learn, saved, tmp_path):
    "`bound_pad` and the exact training range the head clamps rebuilds to are saved (format version 5, which an older tabae refuses rather than fail on the range's weights); a version 4 file, without the range, loads with it narrowed from the bounds, as it was; a file written before `bound_pad` loads unclamped."
    from safetensors.torch import load_file, save_file
    loaded, head = load_encoder(saved, device='cpu'), learn.model.cont_head[-1]
    assert loaded.model.cont_head[-1].pad == head.pad == RECIPE['bound_pad']
    assert json.loads((saved / 'tabae.json').read_text(encoding='utf-8'))['version'] == 5
    assert all(torch.equal(a, b.cpu()) for a, b in zip(loaded.model.cont_head[-1].data_range(), head.data_range()))
    def old_file(name, version, pad=True):
        old = copy_encoder(saved, tmp_path / name)
        save_file({k: v for k, v in load_file(old / 'model.safetensors').items() if 'data_' not in k}, old / 'model.safetensors', metadata={'format': 'tabae-encoder'})
        cfg = json.loads((old / 'tabae.json').read_text(encoding='utf-8'))
        cfg['version'] = version
        if not pad: cfg['model'].pop('bound_pad')
        (old / 'tabae.json').write_text(json.dumps(cfg), encoding='utf-8')
        return load_encoder(old, device='cpu').model.cont_head[-1].eval()
    v4 = old_file('v4', 4)
    assert all(torch.allclose(a, b.cpu(), atol=1e-6) for a, b in zip(v4.data_range(), head.data_range()))
    x = torch.tensor([[-30.] * len(CONTS)])
    assert torch.equal(v4(x), v4.data_range()[0][None])
    unpadded = old_file('unpadded', 4, pad=False)
    assert unpadded.pad is None and torch.allclose(unpadded(x), unpadded.low[None])

def test_names_json_cannot_hold_and_other_models_are_refused(tmp_path):
    "A column named by a non-JSON value (a `pd.Timestamp`) is named in the refusal, and a learner of another model is refused; neither writes anything."
    from fastai.tabular.all import tabular_learner, TabularDataLoaders
    stamp = pd.Timestamp('2024-01-01')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(frame(60).rename(columns={'d': stamp}), CATS, ['größe', stamp], **KW)
    with pytest.raises(TabaeInputError, match=r"Cannot save the column name Timestamp\('2024-01-01 00:00:00'\) \(Timestamp\) as JSON: only str, int, float and bool"):
        save_encoder(learn, tmp_path / 'a')
    dls = TabularDataLoaders.from_df(frame(60), procs=[Categorify], cat_names=['ville natale'], cont_names=['d'], y_names='d', bs=16)
    with pytest.raises(TabaeInputError, match=r"`save_encoder` saves a `TabularAE`, got TabularModel"): save_encoder(tabular_learner(dls), tmp_path / 'b')
    assert not list(tmp_path.iterdir())
