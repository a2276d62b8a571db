"""Fast inference: the encoder with embeddings and BatchNorm folded into its linear layers."""
from __future__ import annotations
from fastai.tabular.all import *
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['FoldedEncoder']

def _bn_affine(bn:_BatchNorm) -> tuple[Tensor, Tensor]:
    "BatchNorm in eval mode as `x * scale + shift`."
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale

class FoldedEncoder(Module):
    "The eval-mode encoder of a `TabularAE` with each BatchNorm folded into the next Linear and the embeddings into the first one."
    def __init__(self, model):
        blocks = list(model.layers)
        lins = [b[0] for b in blocks]
        if not all(isinstance(l, nn.Linear) for l in lins): raise ValueError("FoldedEncoder needs `LinBnDrop` blocks with the linear layer first")
        self.act = blocks[0][1] if len(blocks) > 1 else nn.Identity()
        with torch.no_grad():
            w0 = lins[0].weight.float()
            b0 = lins[0].bias.float() if lins[0].bias is not None else w0.new_zeros(w0.shape[0])
            n_emb = model.n_emb
            tables, col = [], 0
            for e in model.embeds:
                tables.append(e.weight.float() @ w0[:, col:col + e.embedding_dim].T)
                col += e.embedding_dim
            wc = w0[:, n_emb:]
            if model.n_cont and model.bn_cont is not None:
                s, c = _bn_affine(model.bn_cont)
                b0, wc = b0 + wc @ c, wc * s
            self.register_buffer('table', torch.cat(tables) if tables else w0.new_zeros(0, w0.shape[0]))
            self.register_buffer('offsets', tensor(np.cumsum([0] + [e.num_embeddings for e in model.embeds])[:-1]).long())
            self.register_buffer('w_cont', wc.contiguous()); self.register_buffer('b0', b0)
            self.lins = nn.ModuleList()
            for prev, lin in zip(blocks[:-1], lins[1:]):
                unknown = [type(m).__name__ for m in list(prev)[1:] if not isinstance(m, (_BatchNorm, nn.Dropout, type(self.act)))]
                if unknown: raise ValueError(f"FoldedEncoder cannot fold {unknown} in an encoder block")
                bn = first(m for m in prev if isinstance(m, _BatchNorm))
                w, b = lin.weight.float(), lin.bias.float() if lin.bias is not None else lin.weight.new_zeros(lin.out_features)
                if bn is not None:
                    s, c = _bn_affine(bn)
                    b, w = b + w @ c, w * s
                new = nn.Linear(lin.in_features, lin.out_features).to(w.device)
                new.weight.copy_(w); new.bias.copy_(b)
                self.lins.append(new)

    def forward(self, x_cat:Tensor, x_cont:Tensor, stack:bool=False) -> Tensor:
        "The code, or with `stack` the 'deep stack': every hidden activation and the code, concatenated."
        h = self.b0 + (F.embedding_bag(x_cat + self.offsets, self.table, mode='sum') if x_cat.shape[1] else 0.)
        if x_cont.shape[1]: h = h + x_cont @ self.w_cont.T
        hs = []
        for lin in self.lins:
            a = self.act(h)
            hs.append(a)
            h = lin(a)
        return torch.cat(hs + [h], 1) if stack else h
