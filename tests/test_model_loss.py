import math, pickle, numpy as np, pytest, torch
import torch.nn.functional as F
from tabae import TabaeInputError, TabularAE, RecreatedLoss, BufferedSigmoidRange

def tiny_model(**kw):
    kw = {'code_size': 8, 'layers': [16, 8], **kw}
    return TabularAE([(4, 3), (3, 2)], 2, cat_dict={'a': 4, 'b': 3}, low=[-1., -2.], high=[1., 2.], **kw)

def test_shapes_and_code():
    m = tiny_model().eval()
    xc, xf = torch.tensor([[1, 2], [3, 0], [0, 1]]), torch.randn(3, 2)
    cats, conts = m(xc, xf)
    assert cats.shape == (3, 7) and conts.shape == (3, 2)
    assert m(xc, xf, encode=True).shape == (3, 8)
    assert ((conts >= torch.tensor([-1., -2.])) & (conts <= torch.tensor([1., 2.]))).all()

def test_article_defaults():
    m = TabularAE([(5, 3)], 2, cat_dict=[5])
    assert m.code_size == 128 and m.noise.p == 0.1
    lin = [l for l in m.layers.modules() if isinstance(l, torch.nn.Linear)]
    assert [l.out_features for l in lin] == [1024, 512, 256, 128]
    dec = [l for l in m.decoder.modules() if isinstance(l, torch.nn.Linear)]
    assert [l.out_features for l in dec] == [256, 512, 1024]

def test_bounds_are_buffers():
    m = tiny_model()
    names = dict(m.named_buffers())
    assert torch.equal(names['cont_head.1.low'], torch.tensor([-1., -2.]))
    assert isinstance(m.cont_head[1], BufferedSigmoidRange)
    assert {'cont_head.1.low', 'cont_head.1.high'} <= set(m.state_dict())

def test_padded_head_keeps_the_training_range_exactly():
    "With `pad`, `low`/`high` are the training range: the bounds widen it, eval outputs are clamped to it bit for bit; saved before it was kept (a state dict or a pickle without it), it is narrowed back from the bounds; no pad, no extra buffers."
    lo, hi = torch.tensor([-0.1461, -3.]), torch.tensor([13.3942, 1.])
    head = BufferedSigmoidRange(lo, hi, 0.1)
    assert torch.equal(head.low, lo - 0.1 * (hi - lo)) and torch.equal(head.high, hi + 0.1 * (hi - lo))
    x = torch.tensor([[-50., -50.], [50., 50.]])
    assert torch.allclose(head.train()(x), torch.stack([head.low, head.high]))  # training: the widened bounds (sigmoid rounding)
    assert torch.equal(head.eval()(x), torch.stack([lo, hi])) and all(torch.equal(a, b) for a, b in zip(head.data_range(), (lo, hi)))
    old_state = {k: v for k, v in head.state_dict().items() if not k.startswith('data_')}
    old = BufferedSigmoidRange(torch.zeros(2), torch.zeros(2), 0.1)
    old.load_state_dict(old_state)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(old.data_range(), (lo, hi)))
    del head._buffers['data_low'], head._buffers['data_high']
    unpickled = pickle.loads(pickle.dumps(head))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(unpickled.data_range(), (lo, hi)))
    bare = BufferedSigmoidRange(lo, hi, 0.)
    assert set(bare.state_dict()) == {'low', 'high'} and all(torch.equal(a, b) for a, b in zip(bare.data_range(), (lo, hi)))

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.cuda
def test_bounds_follow_cuda():
    m = tiny_model().cuda()
    assert m.cont_head[1].low.is_cuda and m.cont_head[1].high.is_cuda
    out = m(torch.zeros(4, 2, dtype=torch.long).cuda(), torch.randn(4, 2).cuda())
    assert out[1].is_cuda

def test_bad_arguments_name_the_argument():
    for kw, name in [({'code_size': 0}, 'code_size'), ({'code_size': True}, 'code_size'), ({'layers': []}, 'layers'), ({'layers': 16}, 'layers'),
                     ({'ps': 1.2}, 'ps'), ({'swap_p': -0.1}, 'swap_p'), ({'decoder': 'tree'}, 'decoder'), ({'code_act': 'gelu'}, 'code_act')]:
        with pytest.raises(TabaeInputError, match=f'`{name}`'): tiny_model(**kw)

def test_layers_from_a_generator_or_range():
    "`layers` given as a generator is checked without being used up; a range works as a list."
    for layers in ((n for n in [16, 8]), range(16, 7, -8)):
        m = tiny_model(layers=layers)
        assert [l.out_features for l in m.layers.modules() if isinstance(l, torch.nn.Linear)] == [16, 8, 8]

def test_clip_inputs_clips_to_the_head_range():
    "With `clip_inputs` a continuous input past the head's bounds gives the code and output of the bound itself; without, it moves both."
    torch.manual_seed(0)
    xc, far, bound = torch.tensor([[1, 2]]), torch.tensor([[1e7, -50.]]), torch.tensor([[1., -2.]])
    clipped, plain = tiny_model(clip_inputs=True).eval(), tiny_model().eval()
    plain.load_state_dict(clipped.state_dict())
    with torch.no_grad():
        assert torch.equal(clipped(xc, far, encode=True), clipped(xc, bound, encode=True))
        assert torch.equal(clipped(xc, far)[0], clipped(xc, bound)[0]) and torch.equal(clipped(xc, far)[1], clipped(xc, bound)[1])
        assert torch.equal(plain(xc, bound, encode=True), clipped(xc, bound, encode=True))  # inside the range nothing changes
        assert (plain(xc, far, encode=True) - plain(xc, bound, encode=True)).abs().max() > 1

def test_input_skip_adds_a_linear_map_of_the_input_to_the_code():
    "With `input_skip` the code is the encoder MLP's output plus a linear map of its input; with that map zeroed it is the plain model's code."
    torch.manual_seed(0)
    skip, plain = tiny_model(input_skip=True).eval(), tiny_model().eval()
    plain.load_state_dict({k: v for k, v in skip.state_dict().items() if not k.startswith('skip.')})
    xc, xf = torch.tensor([[1, 2], [3, 0], [0, 1]]), torch.randn(3, 2)
    with torch.no_grad():
        x = skip.encoder_input(xc, xf)
        assert x.shape == (3, skip.n_emb + 2)
        torch.testing.assert_close(skip(xc, xf, encode=True), skip.layers(x) + skip.skip(x))
        assert (skip(xc, xf, encode=True) - plain(xc, xf, encode=True)).abs().max() > 1e-3
        skip.skip.weight.zero_(); skip.skip.bias.zero_()
        torch.testing.assert_close(skip(xc, xf, encode=True), plain(xc, xf, encode=True))
    assert not hasattr(plain, 'skip')

def hand_loss(logits, conts, tc, tf):
    "The article's loss written out element by element."
    n, rows = len(tc), []
    for r in range(n):
        ce = -torch.log_softmax(logits[r, :4], 0)[tc[r, 0]] - torch.log_softmax(logits[r, 4:], 0)[tc[r, 1]]
        se = ((conts[r] - tf[r]) ** 2).sum()
        rows.append(ce / 2 + se / 2)
    return torch.stack(rows)

def test_loss_matches_hand_computation():
    torch.manual_seed(0)
    logits, conts = torch.randn(3, 7), torch.randn(3, 2)
    tc, tf = torch.tensor([[1, 2], [3, 0], [0, 1]]), torch.randn(3, 2)
    rows = hand_loss(logits, conts, tc, tf)
    for red, want in [('mean', rows.mean()), ('sum', rows.sum()), ('none', rows)]:
        got = RecreatedLoss({'a': 4, 'b': 3}, reduction=red)((logits, conts), tc, tf)
        assert torch.allclose(got, want, atol=1e-6)
    # the article's formula: (sum CE / n_cats + sum SE / n_conts) / bs
    ce = F.cross_entropy(logits[:, :4], tc[:, 0], reduction='sum') + F.cross_entropy(logits[:, 4:], tc[:, 1], reduction='sum')
    art = (ce / 2 + F.mse_loss(conts, tf, reduction='sum') / 2) / 3
    assert math.isclose(RecreatedLoss([4, 3])((logits, conts), tc, tf).item(), art.item(), rel_tol=1e-6)

def test_loss_without_cats_or_conts():
    conts, tf = torch.randn(4, 2), torch.randn(4, 2)
    assert torch.allclose(RecreatedLoss([])((torch.zeros(4, 0), conts), torch.zeros(4, 0, dtype=torch.long), tf), ((conts - tf) ** 2).mean())
    logits, tc = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])[:, None]
    assert torch.allclose(RecreatedLoss([3])((logits, torch.zeros(4, 0)), tc, torch.zeros(4, 0)), F.cross_entropy(logits, tc[:, 0]))

def test_pickled_loss_keeps_no_device_copies():
    "The per-device copies `RecreatedLoss` makes on first use stay out of pickles (a GPU fit would pickle CUDA tensors)."
    logits, conts, tc, tf = torch.randn(3, 7), torch.randn(3, 2), torch.tensor([[1, 2], [3, 0], [0, 1]]), torch.randn(3, 2)
    loss = RecreatedLoss({'a': 4, 'b': 3}, class_weights=[[1., 2., 1., 1.], [1., 1., 3.]])
    want = loss((logits, conts), tc, tf)
    assert '_moved' in loss.__dict__
    back = pickle.loads(pickle.dumps(loss))
    assert '_moved' not in back.__dict__ and '_device' not in back.__dict__
    assert torch.equal(back((logits, conts), tc, tf), want)

def test_bad_reduction():
    with pytest.raises(ValueError, match='reduction'): RecreatedLoss([3], reduction='avg')

def test_class_balanced_table_without_categoricals(adult_df):
    "The recipe's class-balanced loss still trains a table with no categorical column."
    from tabae import fit_autoencoder
    learn = fit_autoencoder(adult_df.iloc[:300], [], ['age', 'fnlwgt'], code_size=4, layers=[16], epochs=1, bs=64, progress=False, class_balance=0.5)
    assert learn.loss_func.class_weights is None and np.isfinite(learn.recorder.values[-1][1])

def test_head_and_code_dropout_default_to_the_first_p():
    "`head_p` and `code_p` default to `ps`' first rate (the article's heads and first decoder layer drop out); given, they win."
    def rates(m): return [d.p for d in m.cat_head.modules() if isinstance(d, torch.nn.Dropout)], [d.p for d in m.cont_head.modules() if isinstance(d, torch.nn.Dropout)], [d.p for d in m.decoder[0].modules() if isinstance(d, torch.nn.Dropout)]
    assert rates(TabularAE([(5, 3)], 2, code_size=4, cat_dict=[5], layers=[16, 8], ps=0.2)) == ([0.2], [0.2], [0.2])
    assert rates(TabularAE([(5, 3)], 2, code_size=4, cat_dict=[5], layers=[16, 8], ps=0.2, head_p=0.05, code_p=0.)) == ([0.05], [0.05], [])

def test_class_weights_are_each_columns_own():
    "With two categorical columns, each target is weighted by its own column's class weights (not the first column's)."
    torch.manual_seed(0)
    logits, tc = torch.randn(3, 7), torch.tensor([[1, 2], [3, 0], [0, 1]])
    wa, wb = torch.tensor([1., 2., 1., 1.]), torch.tensor([1., 1., 3.])
    got = RecreatedLoss([4, 3], reduction='none', class_weights=[wa, wb])((logits, torch.zeros(3, 0)), tc, torch.zeros(3, 0))
    ce = lambda x, t: -torch.log_softmax(x, 0)[t]
    want = torch.stack([(ce(logits[r, :4], tc[r, 0]) * wa[tc[r, 0]] + ce(logits[r, 4:], tc[r, 1]) * wb[tc[r, 1]]) / 2 for r in range(3)])
    assert torch.allclose(got, want)

def test_a_value_on_a_bin_edge_falls_in_the_bin_above():
    "Edges are quantiles of distinct values, so integer columns sit on them: a value equal to an edge takes the bin above it."
    from tabae import bucketize_cols
    assert bucketize_cols(torch.tensor([[0.], [1.], [.5], [-1.]]), torch.tensor([[0., 1.]])).flatten().tolist() == [1, 2, 1, 0]

def test_numpy_arrays_of_any_strides_are_taken():
    "Bounds, bin edges and class weights given as reversed numpy views (negative strides, which `torch.as_tensor` refuses) are read as the values they show."
    rev = lambda *v: np.array(v, dtype=np.float64)[::-1]
    m = TabularAE([(4, 3)], 2, cat_dict=[4], code_size=4, layers=[8], low=rev(-2., -1.), high=rev(2., 1.), bin_edges=np.array([[1.], [0.]])[::-1])
    assert [t.tolist() for t in m.cont_range] == [[-1., -2.], [1., 2.]] and m.bin_edges.tolist() == [[0.], [1.]]
    w = RecreatedLoss([3], class_weights=[rev(3., 2., 1.)]).class_weights
    assert w.dtype == torch.float32 and w.tolist() == [1., 2., 3.]

@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_finite_weights_finds_one_bad_value_anywhere(bad):
    "`_finite_weights` (what `encode` checks before every call) finds a single NaN or infinity in any parameter, the last included, in float32 and bf16, and passes finite weights and an empty parameter."
    from tabae.model import _finite_weights
    m = tiny_model()
    m.register_parameter('empty', torch.nn.Parameter(torch.zeros(0)))
    assert _finite_weights(m)
    for dtype in (torch.float32, torch.bfloat16):
        for p in [q for q in m.parameters() if q.numel()][::3] + [list(m.parameters())[-2]]:
            w = m.to(dtype)
            with torch.no_grad():
                keep = p.view(-1)[-1].item(); p.view(-1)[-1] = bad
                assert not _finite_weights(w)
                p.view(-1)[-1] = keep
            assert _finite_weights(w)
