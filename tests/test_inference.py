import numpy as np, pytest, torch
from tabae import FastMish, FoldedEncoder, TabularAE, amp_dtype, encode, process_frame

def test_folded_encoder_matches_trained_model(small_learn, adult_test_df):
    "The folded encoder gives the model's own codes (fp32) on real held-out rows."
    cats, conts = process_frame(small_learn, adult_test_df.iloc[:500], warn=False)
    m = small_learn.model.eval().cpu()
    with torch.no_grad(): want, got = m(cats, conts, encode=True), FoldedEncoder(m)(cats, conts)
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)

@pytest.mark.parametrize('kw', [{}, dict(input_skip=True), dict(clip_inputs=True), dict(clip_inputs=True, input_skip=True, code_act='relu'),
                                dict(act_cls=torch.nn.ReLU), dict(act_cls=torch.nn.GELU)], ids=str)  # any activation, not Mish only
def test_folded_encoder_with_random_batchnorm_stats(kw):
    "BatchNorm folded into the first layer and the input skip, its `eps` where it belongs (running variances near 0 too); inputs past the head's bounds (1.5 and -2) clipped as the model clips them."
    torch.manual_seed(0)
    for var in ((0.5, 2), (1e-4, 1e-2)):
        m = TabularAE([(10, 6), (5, 4)], 3, code_size=16, cat_dict=[10, 5], layers=[32, 16], low=[-2.] * 3, high=[1.5] * 3, **kw)
        for bn in (mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm1d)):
            bn.running_mean.normal_(); bn.running_var.uniform_(*var); bn.weight.data.normal_(); bn.bias.data.normal_()
        m.eval()
        xc, xf = torch.randint(0, 5, (64, 2)), torch.randn(64, 3) * 3  # a third of the values past the bounds
        with torch.no_grad(): want = m(xc, xf, encode=True)
        with torch.no_grad(): assert torch.allclose(FoldedEncoder(m)(xc, xf), want, atol=1e-5 * max(1, want.abs().max().item()))

def test_folded_encoder_with_bin_inputs():
    "The folded encoder bucketizes the numbers into the bin embeddings as the model does (the last edges `inf` padding)."
    torch.manual_seed(0)
    edges = torch.tensor([[-1., 0., 1.], [0.5, float('inf'), float('inf')]])
    xc, xf = torch.randint(0, 5, (64, 1)), torch.randn(64, 2)
    for m in (TabularAE([(5, 3)], 2, cat_dict=[5], layers=[16], bin_edges=edges, bin_inputs=True),
              TabularAE([], 2, cat_dict=[], layers=[16], bin_edges=edges, bin_inputs=True)):
        m.eval()
        a = xc[:, :len(m.n_classes)]
        with torch.no_grad(): assert torch.allclose(FoldedEncoder(m)(a, xf), m(a, xf, encode=True), atol=1e-5)
    assert m.bins(xf)[:, 1].max() == 1 and len(m.embeds) == 2

def test_folded_encoder_without_cats_or_conts():
    xc, xf = torch.randint(0, 5, (8, 1)), torch.randn(8, 3)
    for m, a, b in [(TabularAE([], 3, cat_dict=[], layers=[16]), xc[:, :0], xf), (TabularAE([(5, 3)], 0, cat_dict=[5], layers=[16]), xc, xf[:, :0])]:
        m.eval()
        with torch.no_grad(): assert torch.allclose(FoldedEncoder(m)(a, b), m(a, b, encode=True), atol=1e-5)

def test_folded_encoder_with_many_large_categorical_columns():
    "Ten columns of 1,000 classes: one lookup per column (the block-diagonal table would be 10x the embeddings), the same codes and deep stack (`deep_stack` was refused, blaming the layout)."
    from tabae.encode import _encoder
    torch.manual_seed(0)
    m = TabularAE([(1000, 77)] * 10, 2, code_size=8, cat_dict=[1000] * 10, layers=[32, 16]).eval()
    xc, xf = torch.randint(0, 1000, (64, 10)), torch.randn(64, 2)
    f = FoldedEncoder(m)
    assert len(f.embeds) == 10 and not f.table.numel()
    with torch.no_grad():
        assert torch.allclose(f(xc, xf), m(xc, xf, encode=True), atol=1e-5)
        assert _encoder(m, deep_stack=True, mixed_precision=False)(xc, xf).shape == (64, 32 + 16 + 8)

def test_deep_stack_codes(small_learn, adult_test_df):
    "`deep_stack` returns every hidden activation, then the bottleneck code itself, under the code's own column names (`ae_0` is the code's unit 0 in both; the layers are `ae_h0_..`, `ae_h1_..`)."
    df = adult_test_df.iloc[:300]
    code, stack = encode(small_learn, df), encode(small_learn, df, deep_stack=True)
    widths = [l.out_features for l in small_learn.model.layers.modules() if isinstance(l, torch.nn.Linear)]
    assert stack.shape == (300, sum(widths)) and (stack.index == df.index).all()
    assert np.allclose(stack[code.columns].to_numpy(), code.to_numpy(), atol=1e-5) and list(stack.columns[-code.shape[1]:]) == list(code.columns)
    assert list(stack.columns[:widths[0] + 1]) == [f'ae_h0_{i}' for i in range(widths[0])] + ['ae_h1_0']
    assert (stack.iloc[:, :widths[0]].std() > 0).any()
    acts, model = [], small_learn.model.eval()
    hook = model.layers[0][1].register_forward_hook(lambda m, i, o: acts.append(o))  # one activation module, shared by the blocks
    try:
        with torch.no_grad(): model(*process_frame(small_learn, df, warn=False), encode=True)
    finally: hook.remove()
    exact = encode(small_learn, df, deep_stack=True, mixed_precision=False).to_numpy()
    np.testing.assert_allclose(exact[:, :widths[0]], acts[0].numpy(), atol=1e-4)  # layer by layer, in order
    np.testing.assert_allclose(exact[:, widths[0]:widths[0] + widths[1]], acts[1].numpy(), atol=1e-4)

def test_folded_encoder_row_blocks_and_bf16(small_learn, adult_test_df):
    "Rows split into CPU blocks give the unsplit codes; the bf16 encoder (with `mish_bf16`) stays near the fp32 codes."
    cats, conts = process_frame(small_learn, adult_test_df.iloc[:700], warn=False)
    m = small_learn.model.eval().cpu()
    fe, bf = FoldedEncoder(m), FoldedEncoder(m, dtype=torch.bfloat16)
    assert type(bf.act) is FastMish and type(fe.act) is FastMish  # FastMish takes its bf16 path on bf16 tensors only (test_activations)
    with torch.no_grad():
        whole = fe(cats, conts)
        fe.cpu_block = 64
        assert torch.allclose(fe(cats, conts), whole, atol=1e-6)
        assert torch.allclose(fe(cats, conts, stack=True)[:, -whole.shape[1]:], whole, atol=1e-6)
        rel = (bf(cats, conts) - whole).norm() / whole.norm()
    assert rel < 0.02

def test_per_column_lookups_take_the_bin_embeddings_too():
    "Where the table would be too big, the numbers' bin embeddings (the recipe's `bin_inputs`) are looked up beside the categorical ones."
    torch.manual_seed(0)
    edges = torch.tensor([[-1., 0., 1.], [0.5, float('inf'), float('inf')]])
    m = TabularAE([(1000, 77)] * 10, 2, code_size=8, cat_dict=[1000] * 10, layers=[32, 16], bin_edges=edges, bin_inputs=True).eval()
    xc, xf = torch.randint(0, 1000, (64, 10)), torch.randn(64, 2)
    f = FoldedEncoder(m)
    assert len(f.embeds) == 12 and not f.table.numel()
    with torch.no_grad(): assert torch.allclose(f(xc, xf), m(xc, xf, encode=True), atol=1e-5)

@pytest.mark.parametrize('n', [129, 128, 65, 1])
def test_row_blocks_keep_every_row(n):
    "Split into CPU blocks of 64 rows, every row is encoded, a trailing one-row block too, as without blocks."
    torch.manual_seed(0)
    fe = FoldedEncoder(TabularAE([(5, 3)], 2, code_size=4, cat_dict=[5], layers=[8]).eval())
    xc, xf = torch.randint(0, 5, (n, 1)), torch.randn(n, 2)
    with torch.no_grad():
        whole = fe(xc, xf)
        fe.cpu_block = 64
        assert torch.allclose(fe(xc, xf), whole, atol=1e-6) and whole.shape == (n, 4)

def test_bf16_reads_unnormalized_numbers_as_training_does():
    "Numbers left unnormalized (procs without `Normalize`: years) pass the input BatchNorm in float32 before the bf16 cast, as autocast runs it in training: folded into bf16 weights, 2000 and 2001 (one bf16 step of 8 apart) gave the same code."
    torch.manual_seed(0)
    m = TabularAE([(3, 2)], 1, code_size=4, cat_dict=[3], layers=[16]).eval()
    m.bn_cont.running_mean.fill_(2010.); m.bn_cont.running_var.fill_(36.)
    xc, xf = torch.zeros(2, 1, dtype=torch.long), torch.tensor([[2000.], [2001.]])
    with torch.no_grad():
        codes = FoldedEncoder(m, dtype=torch.bfloat16)(xc, xf)
        with torch.autocast('cpu', dtype=torch.bfloat16): want = m(xc, xf, encode=True).float()
    assert not torch.equal(codes[0], codes[1]) and torch.allclose(codes, want, atol=0.02 * want.abs().max())

def test_encoders_that_cannot_fold_fall_back_to_the_model(small_learn, adult_test_df):
    "A block `FoldedEncoder` cannot fold (a LayerNorm in it, a BatchNorm before its linear layer) is named; `encode` then runs the model itself, to its codes, and `deep_stack`, which needs the folded layout, says so."
    from tabae import TabaeInputError
    rows, m = adult_test_df.iloc[:300], small_learn.model
    block = m.layers[1]
    try:
        block.append(torch.nn.LayerNorm(block[0].out_features))
        with pytest.raises(ValueError, match=r"FoldedEncoder cannot fold \['LayerNorm'\] in an encoder block"): FoldedEncoder(m)
        cats, conts = process_frame(small_learn, rows, warn=False)
        with torch.no_grad(): want = m.eval()(cats, conts, encode=True)
        assert np.allclose(encode(small_learn, rows).to_numpy(), want.numpy(), atol=1e-6)
        with pytest.raises(TabaeInputError, match=r"`deep_stack` needs an encoder of `LinBnDrop` blocks \(the `TabularAE` layout\)"): encode(small_learn, rows, deep_stack=True)
    finally: del block[-1]
    first = m.layers[0]
    try:
        m.layers[0] = torch.nn.Sequential(torch.nn.BatchNorm1d(first[0].in_features), *first)
        with pytest.raises(ValueError, match="FoldedEncoder needs `LinBnDrop` blocks with the linear layer first"): FoldedEncoder(m)
    finally: m.layers[0] = first
    with torch.no_grad(): folded = FoldedEncoder(m.eval(), dtype=amp_dtype('cpu') or torch.float32)(cats, conts).float()
    assert np.allclose(encode(small_learn, rows).to_numpy(), folded.numpy(), atol=1e-6)  # the model restored, `encode` folds it again
