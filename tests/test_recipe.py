import sys
import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import Categorify, FillMissing, Normalize, RandomSplitter, TabularPandas, first
from fastai.callback.core import Callback
from tabae import *

def test_rank_gauss_round_trip_on_heavy_tails(adult_df):
    "RankGauss makes capital-gain (91% zeros, a spike at 99999) roughly standard and decodes back to original units exactly."
    df = adult_df.iloc[:5000]
    to = TabularPandasIdentity(df, [Categorify, FillMissing, RankGauss, Normalize], ['race'], ['age', 'capital-gain'],
                               splits=RandomSplitter(seed=0)(df))
    z = to.conts['capital-gain']
    assert z.abs().max() < 6 and abs(z.mean()) < 0.1  # the raw column sits 13 std above its mean at 99999
    back = to.new(to.items.copy()).decode().items
    assert np.allclose(back['capital-gain'], df.loc[to.items.index, 'capital-gain'], atol=1e-6)
    assert np.allclose(back['age'], df.loc[to.items.index, 'age'], atol=1e-6)

def test_rank_gauss_quantiles_and_degenerate_columns():
    "1,000 quantiles by default; a column with one finite training value keeps two, so values below and above it still map below and above 0, as do those of a column with none."
    r = np.random.default_rng(0)
    df = pd.DataFrame({'x': r.normal(size=5000), 'one': [5.] + [np.nan] * 4999, 'none': np.nan})
    rg = RankGauss()
    TabularPandas(df, [rg], cont_names=['x', 'one', 'none'])
    assert [len(rg.quantiles[c]) for c in ('x', 'one', 'none')] == [1000, 2, 2] and (rg.quantiles['none'] == 0).all()
    out = TabularPandas(pd.DataFrame({'x': 0., 'one': [1., 5., 9.], 'none': [-1., 0., 1.]}), [rg], cont_names=['x', 'one', 'none'], do_setup=False)
    out.process()
    assert out.items['one'].tolist() == pytest.approx([-0.6745, 0., 0.6745], abs=1e-4) and out.items['none'].tolist() == pytest.approx([-0.6745, 0., 0.6745], abs=1e-4)

def test_class_weights_favour_rare_classes(adult_df):
    dls = ae_data(adult_df.iloc[:4000], ['workclass'], ['age'], bs=256)
    w = class_weights(dls, alpha=0.5)[0]
    counts = torch.bincount(dls.train.cats[:, 0], minlength=len(w)).float()
    assert torch.isclose((w * counts).sum() / counts.sum(), torch.tensor(1.), atol=1e-5)  # average weight over rows is 1
    rare, common = counts[counts > 0].argmin(), counts.argmax()
    assert w[rare] > w[common]

def test_class_weighted_loss_matches_weighted_ce():
    logits, t = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])[:, None]
    w = torch.tensor([1., 2., 3.])
    got = RecreatedLoss([3], reduction='none', class_weights=[w])((logits, torch.zeros(6, 0)), t, torch.zeros(6, 0))
    want = torch.nn.functional.cross_entropy(logits, t[:, 0], reduction='none') * w[t[:, 0]]
    assert torch.allclose(got, want)

@pytest.mark.parametrize('swap_p', [0.2, [0.2, 0.2]], ids=['one rate', 'per column'])
def test_swap_noise_schedule_anneals_and_restores(adult_df, swap_p):
    "Every rate (one for all, or each column's) holds until half the fit (the default `start`), then falls to near 0; the rates are put back after the fit."
    dls = ae_data(adult_df.iloc[:2000], ['race'], ['age'], bs=256)
    learn = ae_learner(dls, code_size=4, layers=[16], swap_p=swap_p)
    seen = []
    class Spy(Callback):
        order = 70
        def before_batch(self):
            if self.training: seen.append((self.pct_train, np.atleast_1d(self.learn.model.noise.p)))
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-3, cbs=[SwapNoiseSchedule(), Spy()])
    assert all(r == pytest.approx(0.2) for pct, r in seen if pct <= 0.5) and all(r.shape == (len(np.atleast_1d(swap_p)),) for _, r in seen)
    rates = np.stack([r for _, r in seen])
    assert (rates[-1] < 0.02).all() and (np.diff(rates, axis=0) <= 1e-12).all()
    assert learn.model.noise.p == swap_p

def test_auto_bs():
    "Sixteen or more batches per epoch, a power of two from 64 to 1024: Adult's 26,049 training rows keep the article's 1024."
    assert [auto_bs(n) for n in (0, 100, 1024, 1500, 2048, 2400, 8192, 16383, 16384, 26049, 10**7)] == [64, 64, 64, 64, 128, 128, 512, 512, 1024, 1024, 1024]

def test_fit_autoencoder_sizes_batches_to_the_table(adult_df):
    learn = fit_autoencoder(adult_df.iloc[:3000], ['race'], ['age'], code_size=4, layers=[16], epochs=1, progress=False)
    assert learn.dls.train.bs == auto_bs(2400) == 128
    learn = fit_autoencoder(adult_df.iloc[:3000], ['race'], ['age'], code_size=4, layers=[16], epochs=1, bs=100, progress=False)
    assert learn.dls.train.bs == 100

def test_fit_autoencoder_validates_on_valid_idx(adult_df):
    "`valid_idx` picks the validation rows (e.g. the latest ones) that early stopping and the best weights watch; none: the training loss."
    df, kw = adult_df.iloc[:400], dict(code_size=4, layers=[16], epochs=1, progress=False)
    learn = fit_autoencoder(df, ['race'], ['age'], valid_idx=range(300, 400), **kw)
    assert list(learn.dls.valid_ds.items.index) == list(range(300, 400)) and len(learn.dls.train_ds) == 300
    for valid_idx, monitor in ((range(300, 400), 'valid_loss'), ([], 'train_loss')):
        seen = []
        class Spy(Callback):
            order = 100
            def after_fit(self): seen.extend(c.monitor for c in self.learn.cbs if isinstance(c, (KeepBest, EarlyStopFrom)))
        fit_autoencoder(df, ['race'], ['age'], valid_idx=valid_idx, cbs=[Spy()], **kw)
        assert seen == [monitor, monitor]

@pytest.mark.parametrize('bs', [0, -3, 2.5, 'x', True])
def test_bad_bs_is_named(adult_df, bs):
    with pytest.raises(TabaeInputError, match='`bs` must be a positive int'):
        fit_autoencoder(adult_df.iloc[:100], ['race'], ['age'], bs=bs, progress=False)

def test_best_weights_come_from_the_annealed_epochs(adult_df, capsys):
    "By default the weights kept are those of the lowest validation loss from the noise anneal's start (half-way) on, and early stopping counts only those epochs."
    scripted, states = [0.1, 5., 4., 3., 2., 2.5, 3., 3.5], []
    class Script(Callback):
        order = 55  # after the Recorder, before the trackers: they read this validation loss
        def after_epoch(self):
            self.recorder.values[-1][1] = scripted[self.epoch]
            states.append({k: v.detach().clone() for k, v in self.learn.model.state_dict().items()})
    learn = fit_autoencoder(adult_df.iloc[:2000], ['race', 'sex'], ['age'], code_size=4, layers=[16], epochs=8, patience=1,
                            progress=False, cbs=[Script()])
    assert len(states) == 6  # epoch 4 is the best from epoch 4 on; patience 1 stops after epoch 5
    assert capsys.readouterr().out == ''  # progress=False: not even the early-stopping line
    assert all(torch.equal(v, states[4][k]) for k, v in learn.model.state_dict().items())
    learn = fit_autoencoder(adult_df.iloc[:2000], ['race', 'sex'], ['age'], code_size=4, layers=[16], epochs=8, patience=1,
                            track_from=0., progress=False, cbs=[Script()])
    assert len(states) == 6 + 2  # tracked from the start, epoch 0 is the best and epoch 1 stops the fit
    assert all(torch.equal(v, states[6][k]) for k, v in learn.model.state_dict().items())
    learn = fit_autoencoder(adult_df.iloc[:2000], ['race', 'sex'], ['age'], code_size=4, layers=[16], epochs=8, patience=2, cbs=[Script()])
    assert 'No improvement since epoch 4: early stopping' in capsys.readouterr().out  # the best epoch, not the one that stopped the fit

def test_an_interrupted_fit_hands_back_its_learner(adult_df):
    "A Ctrl-C in `fit_autoencoder` lost the learner it was training (`learn = fit_autoencoder(...)` never returned): `FitInterrupted`, still a `KeyboardInterrupt`, holds it, with the best tracked weights once there are any, its swap noise rate back and no autocast left on."
    scripted, states = [5., 4., 3., 2., 2.5, 3., 3.5, 4.], []
    def stopping_in(epoch):
        class Script(Callback):
            order = 55  # as in the test above: after the Recorder, before the trackers
            def after_epoch(self):
                self.recorder.values[-1][1] = scripted[self.epoch]
                states.append({k: v.detach().clone() for k, v in self.learn.model.state_dict().items()})
            def after_batch(self):
                if self.epoch == epoch and self.iter == 1: raise KeyboardInterrupt
        return Script()
    for epoch, best in ((6, 4), (2, None)):  # tracked from epoch 4 (half of 8 epochs) on: epoch 4's 2.5 is the best before epoch 6; none before epoch 2
        states.clear()
        with pytest.raises(FitInterrupted, match=rf"`fit_autoencoder` stopped in epoch {epoch + 1} of 8: its learner, with the (best weights of the epochs from 50%|weights as trained so far)") as e:
            fit_autoencoder(adult_df.iloc[:1000], ['race', 'sex'], ['age'], code_size=4, layers=[16], epochs=8, patience=8, progress=False, cbs=[stopping_in(epoch)])
        assert isinstance(e.value, KeyboardInterrupt) and isinstance(e.value.learn, AELearner) and 'sys.last_value.learn' in str(e.value)
        learn = e.value.learn
        assert learn.model.noise.p == 0.1 and not torch.is_autocast_enabled('cpu') and learn.encode(adult_df.iloc[:5]).shape == (5, 4)
        if best is None: assert 'as trained so far' in str(e.value)
        else: assert all(torch.equal(v, states[best][k]) for k, v in learn.model.state_dict().items())

def test_bin_targets_0_turns_the_recipes_bins_off(adult_df):
    "`bin_targets=0` turns off the recipe's bin inputs with its targets; asking for bin inputs without bins is refused by name."
    kw = dict(code_size=4, layers=[16], epochs=1, progress=False)
    m = fit_autoencoder(adult_df.iloc[:500], ['race'], ['age'], bin_targets=0, **kw).model
    assert m.n_bins == 0 and not m.bin_inputs and len(m.embeds) == 1
    with pytest.raises(TabaeInputError, match='`bin_inputs`'): fit_autoencoder(adult_df.iloc[:500], ['race'], ['age'], bin_targets=0, bin_inputs=True, **kw)

def test_default_and_article_decoders(adult_df):
    "`fit_autoencoder`'s recipe: a linear decoder with 16 bins as targets and inputs; the article's: the mirrored decoder, no bins."
    kw = dict(code_size=4, layers=[16, 8], epochs=1, progress=False)
    learn = fit_autoencoder(adult_df.iloc[:500], ['race'], ['age'], **kw)
    m = learn.model
    assert m.decoder_kind == 'linear' and len(m.decoder) == 1 and m.n_bins == 16 and m.bin_inputs and len(m.embeds) == 2
    age = adult_df.age.iloc[:500].iloc[sorted(learn.dls.train_ds.items.index)]  # the head's range: the training range padded by a tenth each side; rebuilds: the training range
    lo, hi = (t.item() for t in m.cont_range)
    assert m.cont_head[-1].pad == 0.1 and (hi - lo) / np.ptp(learn.dls.train.conts[:, 0].numpy()) == pytest.approx(1.2, rel=1e-4)
    np.testing.assert_allclose(output_range(learn).loc['age'].to_numpy(), [age.min(), age.max()], rtol=1e-4)
    m = fit_autoencoder(adult_df.iloc[:500], ['race'], ['age'], **{**ARTICLE_RECIPE, **kw}).model
    assert m.decoder_kind == 'mirror' and len(m.decoder) == 2 and m.n_bins == 0 and not hasattr(m, 'bin_head') and not m.bin_inputs and len(m.embeds) == 1
    drops = [d.p for d in m.modules() if isinstance(d, torch.nn.Dropout)]
    assert m.emb_drop.p == 0.01 and m.noise.p == 0.1 and drops and all(p in (0.01, 0.1) for p in drops)  # the article's dropout: 0.01 on the embeddings, 0.1 elsewhere

def test_a_column_constant_in_training_cannot_swamp_the_row(adult_df):
    "A continuous column constant in training (fastai divides by std + 1e-7) that varies later: the defaults clip it, so the rest of the row rebuilds as before; unclipped, one unit of it moves the code by orders of magnitude."
    df = adult_df.iloc[:1000][['race', 'age', 'hours-per-week']].assign(k=0.)
    later = adult_df.iloc[1000:1100][['race', 'age', 'hours-per-week']].assign(k=0.)
    kw = dict(code_size=4, layers=[16], epochs=1, progress=False)
    for clip in (True, False):
        with pytest.warns(UninformativeColumnWarning, match="'k' has one value"): learn = fit_autoencoder(df, ['race'], ['age', 'hours-per-week', 'k'], **kw, **({} if clip else dict(clip_inputs=False)))
        same, moved = encode(learn, later), encode(learn, later.assign(k=1.))
        if clip: assert np.array_equal(same.to_numpy(), moved.to_numpy()) and reconstruct(learn, later).equals(reconstruct(learn, later.assign(k=1.)))
        else: assert (moved - same).abs().to_numpy().max() > 100 * same.abs().to_numpy().max()

def test_fit_autoencoder_passes_lr_anneal_noise_and_sizes_batches_by_the_training_split(adult_df):
    "The flat phase runs at `lr`; the swap rate holds until `anneal_noise` of the way, falls after it and comes back after the fit; `bs` from the training rows (2,048 rows: 1,638 train, 64 a batch, where all rows would give 128)."
    seen = []
    class Spy(Callback):
        order = 70
        def before_batch(self):
            if self.training: seen.append((self.pct_train, self.learn.model.noise.p, self.opt.hypers[-1]['lr']))
    learn = fit_autoencoder(adult_df.iloc[:2048], ['race'], ['age'], code_size=4, layers=[16], epochs=4, lr=2e-3, swap_p=0.2, anneal_noise=0.75, cbs=[Spy()], progress=False)
    assert learn.dls.train.bs == auto_bs(1638) == 64 and len(learn.dls.train) >= 16
    before, after = [p for pct, p, _ in seen if pct < 0.75], [p for pct, p, _ in seen if pct > 0.76]
    assert before and after and all(p == pytest.approx(0.2) for p in before) and max(after) < 0.2 and min(after) < 0.02
    assert seen[0][2] == pytest.approx(2e-3) and learn.model.noise.p == 0.2

def test_seed_none_leaves_the_split_unseeded_but_in_a_distributed_fit(adult_df, monkeypatch):
    "`seed=None` leaves the split unseeded too (it was `seed=0`'s, run after run, so a resampling loop early-stopped on the same rows); the processes of a distributed fit, which must agree, split as `seed=0`."
    kw = dict(code_size=4, layers=[16], epochs=1, progress=False)
    split = lambda seed: list(fit_autoencoder(adult_df.iloc[:500], ['race'], ['age'], seed=seed, **kw).dls.valid_ds.items.index)
    first = split(0)
    assert split(0) == first and split(None) != split(None)
    monkeypatch.setattr(sys.modules['tabae.fit'], 'num_distrib', lambda: 2)
    assert split(None) == first

def test_class_weights_are_count_plus_one_to_the_minus_alpha():
    "Weights `(count + 1)**-alpha` per class (`#na#`, with no rows, too), scaled to average 1 over the training rows."
    df = pd.DataFrame({'k': ['x'] * 30 + ['y'] * 10, 'v': np.arange(40.)})
    dls = ae_data(df, ['k'], ['v'], valid_pct=0., bs=8)
    counts = torch.tensor([0., 30., 10.])
    w = (counts + 1) ** -0.5
    assert torch.allclose(class_weights(dls, 0.5)[0], w * counts.sum() / (w * counts).sum())

def test_rank_gauss_keeps_n_quantiles():
    "`n_quantiles` caps the reference points kept per column (the row count when fewer)."
    r = np.random.default_rng(0)
    for n, want in ((1000, 10), (3, 3)):
        to = TabularPandas(pd.DataFrame({'x': r.normal(size=n)}), [RankGauss(n_quantiles=10)], cont_names=['x'])
        assert len(first(p for p in to.procs if isinstance(p, RankGauss)).quantiles['x']) == want

def test_signatures_show_the_defaults_in_use():
    "`help(fit_autoencoder)` showed the article's `ae_learner` defaults (`ps=0.1`, `decoder='mirror'`, `bin_targets=0`, ...) that `@delegates` copied, not `RECIPE`'s, which it uses; none shows `loss_func`, which they refuse; `learn.encode` and the other conveniences show their arguments."
    import inspect
    from tabae.distributed import fit_distributed
    for f in (fit_autoencoder, fit_distributed):
        params = inspect.signature(f).parameters
        assert {k: params[k].default for k in RECIPE} == RECIPE and 'loss_func' not in params
    params = inspect.signature(ae_learner).parameters
    assert params['decoder'].default == 'mirror' and 'loss_func' not in params and 'wd' in params  # the article's, and fastai's `Learner` arguments still shown
    from fastai.learner import Learner
    for m, arg in (('encode', 'deep_stack'), ('reconstruct', 'bs'), ('evaluate', 'bs'), ('codes_dls', 'valid_df'), ('codes_frame', 'keep_raw')):
        assert arg in inspect.signature(getattr(Learner, m)).parameters, m  # `learn.encode(` showed only `**kwargs`
    for f in (ae_data, AEDataLoaders.from_df): assert {'val_bs', 'shuffle', 'drop_last'} <= set(inspect.signature(f).parameters), f  # fastai's loader arguments
