"""Fast inference: the encoder with BatchNorm folded into its linear layers and all embeddings looked up in one call."""
from __future__ import annotations
from fastai.tabular.all import *
from torch.nn.modules.batchnorm import _BatchNorm
from .activations import CODE_ACTS, FastMish, _is_mish
from .model import bucketize_cols

__all__ = ['FoldedEncoder']

def _bn_affine(bn:_BatchNorm) -> tuple[Tensor, Tensor]:
    "BatchNorm in eval mode as `x * scale + shift`."
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale

def _linear(w:Tensor, b:Tensor, dtype:torch.dtype) -> nn.Linear:
    res = torch.nn.utils.skip_init(nn.Linear, w.shape[1], w.shape[0], device=w.device, dtype=dtype)
    res.weight.copy_(w); res.bias.copy_(b)
    return res

class FoldedEncoder(Module):
    "The eval-mode encoder of a `TabularAE`, its BatchNorms folded into the linear layers, which run in `dtype` (e.g. bf16): the model's codes, faster."
    # The numbers' input BatchNorm stays one float32 multiply-add before the cast, as autocast runs it in training (folded into bf16 weights, a year 2001 read as 2000);
    # the embeddings are one lookup (one per column for very large tables); the model's input clipping, bins, input skip and `code_act` are kept.
    def __init__(self, model:Module, dtype:torch.dtype=torch.float32):
        blocks = list(model.layers)
        lins = [b[0] for b in blocks]
        if not all(isinstance(l, nn.Linear) for l in lins): raise ValueError("FoldedEncoder needs `LinBnDrop` blocks with the linear layer first")
        act = blocks[0][1] if len(blocks) > 1 else nn.Identity()
        # Mish as `FastMish`, which picks the fast path for bf16 on CPU itself
        self.act, self.dtype = (FastMish() if _is_mish(act) else act), dtype
        self.code_act = getattr(model, 'code_act', None)
        with torch.no_grad():
            # one block-diagonal table: summing each row's lookups concatenates the column embeddings; one lookup per column where that table would be much larger
            sizes = [(e.num_embeddings, e.embedding_dim) for e in model.embeds]
            diag = sum(n for n, _ in sizes) * model.n_emb <= 4 * sum(n * d for n, d in sizes) + 2**20
            emb = torch.block_diag(*[e.weight.float() for e in model.embeds]) if model.n_emb and diag else lins[0].weight.new_zeros(0, 0)
            self.register_buffer('table', emb)
            self.embeds = nn.ModuleList([] if diag else [nn.Embedding.from_pretrained(e.weight.float()) for e in model.embeds])
            clip = getattr(model, 'clip_inputs', False)
            for k, b in zip(('low', 'high'), model.cont_range): self.register_buffer(k, b.float() if clip else None)
            self.register_buffer('bin_edges', model.bin_edges.float() if getattr(model, 'bin_inputs', False) else None)
            self.register_buffer('offsets', torch.as_tensor(np.cumsum([0] + [n for n, _ in sizes])[:-1], dtype=torch.long, device=lins[0].weight.device))
            bn = model.bn_cont if model.n_cont else None
            for k, t in zip(('bn_scale', 'bn_shift'), _bn_affine(bn) if bn is not None else (None, None)): self.register_buffer(k, None if t is None else t.float())
            self.lins = nn.ModuleList([_linear(lins[0].weight.float(), _bias(lins[0]), dtype)])
            self.skip = _linear(model.skip.weight.float(), _bias(model.skip), dtype) if getattr(model, 'input_skip', False) else None
            for prev, lin in zip(blocks[:-1], lins[1:]):
                unknown = [type(m).__name__ for m in list(prev)[1:] if not isinstance(m, (_BatchNorm, nn.Dropout, type(act)))]
                if unknown: raise ValueError(f"FoldedEncoder cannot fold {unknown} in an encoder block")
                bn = first(m for m in prev if isinstance(m, _BatchNorm))
                w, b = lin.weight.float(), _bias(lin)
                if bn is not None:
                    s, c = _bn_affine(bn)
                    w, b = w * s, b + w @ c
                self.lins.append(_linear(w, b, dtype))

    cpu_block = 1024  # rows per pass on CPU: the activations stay in cache and allocations stay small

    def forward(self, x_cat:Tensor, x_cont:Tensor, stack:bool=False) -> Tensor:
        "The code, or with `stack` the 'deep stack': every hidden activation and the code, concatenated."
        n = len(x_cont)
        if x_cont.is_cpu and n > self.cpu_block:
            return torch.cat([self._forward(x_cat[i:i + self.cpu_block], x_cont[i:i + self.cpu_block], stack) for i in range(0, n, self.cpu_block)])
        return self._forward(x_cat, x_cont, stack)

    def _forward(self, x_cat:Tensor, x_cont:Tensor, stack:bool) -> Tensor:
        if self.low is not None: x_cont = torch.clamp(x_cont, self.low, self.high)
        if self.bin_edges is not None: x_cat = torch.cat([x_cat, bucketize_cols(x_cont, self.bin_edges)], 1)
        if self.bn_scale is not None: x_cont = torch.addcmul(self.bn_shift, x_cont.float(), self.bn_scale)
        if self.embeds: emb = torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1)
        else: emb = F.embedding_bag(x_cat + self.offsets, self.table, mode='sum') if x_cat.shape[1] else x_cont[:, :0]
        x = torch.cat([emb, x_cont], 1)
        x = x.to(self.dtype)
        h, hs = self.lins[0](x), []
        for lin in self.lins[1:]:
            hs.append(self.act(h))
            h = lin(hs[-1])
        if self.skip is not None: h = h + self.skip(x)
        if self.code_act is not None: h = CODE_ACTS[self.code_act](h)
        return (torch.cat(hs + [h], 1) if stack else h).float()

def _bias(lin:nn.Linear) -> Tensor: return lin.bias.float() if lin.bias is not None else lin.weight.new_zeros(lin.out_features).float()
