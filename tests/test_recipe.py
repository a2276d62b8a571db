import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import Categorify, FillMissing, Normalize, RandomSplitter
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

def test_swap_noise_schedule_anneals_and_restores(adult_df):
    dls = ae_data(adult_df.iloc[:2000], ['race'], ['age'], bs=256)
    learn = ae_learner(dls, code_size=4, layers=[16], swap_p=0.2)
    seen = []
    class Spy(Callback):
        order = 70
        def before_batch(self):
            if self.training: seen.append(self.learn.model.noise.p)
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-3, cbs=[SwapNoiseSchedule(start=0.5), Spy()])
    assert seen[0] == pytest.approx(0.2) and seen[-1] < 0.02 and all(a >= b - 1e-12 for a, b in zip(seen, seen[1:]))
    assert learn.model.noise.p == 0.2
