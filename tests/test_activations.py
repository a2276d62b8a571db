import pytest, torch, torch.nn.functional as F
from tabae import FastMish, mish_bf16, TabularAE

def test_mish_bf16_matches_mish():
    "The bf16 Mish rewrite stays within a few bf16 ulps of `F.mish` on a wide range, and keeps its limits."
    x = torch.linspace(-30, 30, 20001).to(torch.bfloat16)
    want, got = F.mish(x.float()), mish_bf16(x).float()
    assert ((got - want).abs() <= 0.02 * want.abs() + 2e-3).all()
    ext = torch.tensor([-1e4, -80., 0., 80., 1e4, float('inf')], dtype=torch.bfloat16)
    got = mish_bf16(ext).float()
    assert got[:3].abs().max() < 1e-30 and torch.equal(got[3:], ext[3:].float())

def test_fast_mish_gradient_in_bf16():
    "FastMish's bf16 derivative stays within 0.025 (absolute) of the exact fp32 Mish derivative, far into both tails too (`F.mish` in bf16: 0.004)."
    x = torch.cat([torch.linspace(-40, 40, 8001), torch.randn(4000) * 3]).to(torch.bfloat16)
    g = torch.randn_like(x)
    xb = x.clone().requires_grad_()
    FastMish()(xb).backward(g)
    x32 = x.float().requires_grad_()
    F.mish(x32).backward(g.float())
    assert xb.grad.dtype == torch.bfloat16
    assert ((xb.grad.float() - x32.grad).abs() <= 0.025 * g.float().abs()).all()

def test_fast_mish_without_gradient_is_mish_bf16():
    "Where no gradient is needed (inference, eval under no_grad) FastMish on bf16 CPU tensors is exactly `mish_bf16`; it leaves its input alone."
    x = (torch.randn(512, 64) * 3).to(torch.bfloat16)
    before = x.clone()
    with torch.no_grad(): assert torch.equal(FastMish()(x), mish_bf16(x))
    with torch.inference_mode(): assert torch.equal(FastMish()(x), mish_bf16(x))
    assert torch.equal(x, before)

def test_fast_mish_is_mish_in_fp32_and_trains():
    "In fp32 FastMish is `F.mish` bit for bit; a model with it trains under bf16 autocast on CPU."
    x = torch.randn(64, 8, requires_grad=True)
    assert torch.equal(FastMish()(x), F.mish(x))
    torch.manual_seed(0)
    m = TabularAE([(5, 3)], 2, code_size=4, cat_dict=[5], layers=[16])
    assert isinstance(m.layers[0][1], FastMish)
    xc, xf = torch.randint(0, 5, (32, 1)), torch.randn(32, 2)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = m(xc, xf)
    (out[0].float().sum() + out[1].float().sum()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters() if p.requires_grad)

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.cuda
def test_fast_mish_on_cuda_is_mish():
    "On CUDA FastMish is `F.mish` (one fused kernel), in bf16 as in fp32."
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(256, 64, device='cuda', dtype=dtype)
        assert torch.equal(FastMish()(x), F.mish(x))
