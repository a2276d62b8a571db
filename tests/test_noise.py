import numpy as np, pytest, torch
from tabae import BatchSwapNoise

def distinct(n=4000, c=8, dtype=torch.float32):
    "Every value distinct and tagged with its column, so a swap is visible and its source traceable."
    return (torch.arange(n)[:, None] * 100 + torch.arange(c)[None]).to(dtype)

@pytest.mark.parametrize('p', [0.1, 0.3])
def test_swap_rate_close_to_p(p):
    x = distinct()
    out = BatchSwapNoise(p).train()(x)
    rate = (out != x).float().mean().item()
    assert abs(rate - p) < 0.01

@pytest.mark.parametrize('dtype', [torch.long, torch.float32])
def test_swapped_values_come_from_same_column(dtype):
    x = distinct(dtype=dtype)
    out = BatchSwapNoise(0.5).train()(x)
    assert out.dtype == dtype
    assert torch.equal(out % 100, x % 100)  # column tag preserved
    assert ((out != x).sum(0) > 0).all()

def test_eval_and_zero_p_are_identity():
    x = distinct()
    assert torch.equal(BatchSwapNoise(0.5).eval()(x), x)
    assert torch.equal(BatchSwapNoise(0.).train()(x), x)

def test_per_column_rate():
    x = distinct(c=2)
    out = BatchSwapNoise([0., 0.5]).train()(x)
    assert torch.equal(out[:, 0], x[:, 0]) and (out[:, 1] != x[:, 1]).float().mean() > 0.4

def test_bad_p():
    for p in (1.5, -0.1, float('nan'), [0.1, float('nan')]):
        with pytest.raises(ValueError, match='swap_p'): BatchSwapNoise(p)

def test_a_one_row_batch_is_left_as_it_is():
    "A training batch of one row has no other row to swap with: it comes back unchanged (torch refused to draw from an empty range)."
    x = distinct(1, 5)
    assert torch.equal(BatchSwapNoise(1.).train()(x), x)

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.cuda
def test_noise_on_cuda():
    x = distinct().cuda()
    out = BatchSwapNoise(0.2).train()(x)
    assert out.device == x.device and abs((out != x).float().mean().item() - 0.2) < 0.01

def test_per_column_rates_in_the_model():
    "A `swap_p` list gives one rate per input column, cats first, then conts."
    from tabae import TabularAE
    m = TabularAE([(5, 3)], 2, code_size=4, cat_dict=[5], layers=[8], swap_p=[0., 0.5, 0.]).train()
    xc, xf = torch.arange(1000)[:, None] % 5, distinct(1000, 2)
    assert torch.equal(m.noise(xc, slice(0, 1)), xc)
    out = m.noise(xf, slice(1, None))
    assert (out[:, 0] != xf[:, 0]).float().mean() > 0.4 and torch.equal(out[:, 1], xf[:, 1])
    m(xc, xf)  # the forward pass splits the rates without a shape error

def test_numpy_scalar_rate():
    x = distinct()
    out = BatchSwapNoise(np.float32(0.3)).train()(x)
    assert abs((out != x).float().mean().item() - 0.3) < 0.01

def test_a_swap_always_takes_another_row():
    "With `p=1` every value comes from another row, even in a batch of 2 or 3 (a row never swaps with itself)."
    torch.manual_seed(0)
    for n in (2, 3):
        x = distinct(n, 50)
        for _ in range(100): assert (BatchSwapNoise(1.).train()(x) != x).all()
