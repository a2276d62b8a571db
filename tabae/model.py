"""`TabularAE`: the denoising autoencoder model."""
from __future__ import annotations
import warnings
from fastai.tabular.all import *
from .activations import CODE_ACTS, FastMish
from .errors import TabaeInputError
from .noise import BatchSwapNoise
from .validate import _as_list, _check_arch, _check_p, _is_p

__all__ = ['BufferedSigmoidRange', 'bucketize_cols', 'TabularAE']

def _f32(o) -> Tensor:
    "A new float32 tensor of `o` (a tensor, a number, a list, or a numpy array of any strides: a reversed one too, which `torch.as_tensor` refuses)."
    return o.detach().float().clone() if isinstance(o, Tensor) else torch.tensor(np.array(o, dtype=np.float32))

def _widen(low:Tensor, high:Tensor, pad:float) -> tuple[Tensor, Tensor]:
    "`low`..`high` widened by `pad` of it at each end."
    return low - pad * (high - low), high + pad * (high - low)

class BufferedSigmoidRange(SigmoidRange):
    "`SigmoidRange` with per-column bounds held as buffers, so they follow `.to(device)` and the state dict; with `pad` (not None), `low`/`high` are the training range, the bounds widen it by `pad` of it at each end, and in eval mode the outputs are clamped to it."
    pad = None  # models pickled before `pad` existed: not known, nothing clamped
    def __init__(self, low:Tensor|list, high:Tensor|list, pad:float|None=None):
        nn.Module.__init__(self)
        low, high = _f32(low).flatten(), _f32(high).flatten()
        self.pad = None if pad is None else float(pad)
        if self.pad:  # kept exactly, so a clamped rebuild decodes to the training extreme itself (with no pad the bounds are the range)
            self.register_buffer('data_low', low)
            self.register_buffer('data_high', high)
            low, high = _widen(low, high, self.pad)
        self.register_buffer('low', low)
        self.register_buffer('high', high)

    def _legacy_range(self, low:Tensor, high:Tensor) -> tuple[Tensor, Tensor]:
        "The training range as models saved before it was kept had it: the bounds `low`/`high` narrowed by `pad` (to float32 rounding)."
        width = (high - low) / (1 + 2 * self.pad)
        return low + self.pad * width, high - self.pad * width

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if self.pad and prefix + 'data_low' not in state_dict and prefix + 'low' in state_dict:  # saved before the range was kept
            state_dict[prefix + 'data_low'], state_dict[prefix + 'data_high'] = self._legacy_range(state_dict[prefix + 'low'], state_dict[prefix + 'high'])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.pad and 'data_low' not in self._buffers:  # pickled before the range was kept
            for n, t in zip(('data_low', 'data_high'), self._legacy_range(self.low, self.high)): self.register_buffer(n, t)

    def data_range(self) -> tuple[Tensor, Tensor]:
        "The training range per column (normalized units), to which eval-mode outputs are clamped: `low`..`high` when `pad` is 0 or not known."
        return (self.data_low, self.data_high) if self.pad else (self.low, self.high)

    def forward(self, x:Tensor) -> Tensor:
        "`SigmoidRange`, clamped to `data_range` in eval mode: the padding lets training reach its extremes, and a rebuild past them (a negative capital gain) is one no training row had."
        y = super().forward(x)
        return y if self.training or not self.pad else torch.clamp(y, *self.data_range())

def bucketize_cols(conts:Tensor, edges:Tensor) -> Tensor:
    "The bin of each value of `conts` `(n, n_cols)` among its column's `edges` `(n_cols, n_edges)` (`inf`-padded), as `long` (NaN: the last bin; tabae's procs leave none)."
    return torch.searchsorted(edges, conts.float().T.contiguous(), right=True).T

def _n_classes(cat_dict) -> list[int]:
    return [int(v) for v in (cat_dict.values() if isinstance(cat_dict, dict) else cat_dict)]

def _head(n_in:int, n_out:int, p:float) -> LinBnDrop:
    "A linear head; one with no outputs (a table without categorical or without continuous columns) is built without torch's zero-element warning."
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Initializing zero-element tensors is a no-op', UserWarning)
        return LinBnDrop(n_in, n_out, p=p, bn=False, act=None)

def _finite_weights(m:nn.Module) -> bool:
    "Every parameter of `m` finite: its min and max (which NaN propagates to) checked in one `isfinite`, a tenth of the time of `isfinite` over every weight of a wide model (benchmarks/call_overhead.py)."
    ends = [torch.stack(torch.aminmax(p.detach())).float() for p in m.parameters() if p.numel()]
    return bool(torch.isfinite(torch.cat(ends)).all()) if ends else True  # one check: on a GPU, one synchronisation

def _floats(p): return [float(v) for v in p] if is_listy(p) else float(p)

class TabularAE(TabularModel):
    "Denoising autoencoder: embeddings (and, with `bin_inputs`, bin embeddings) -> encoder (plus a linear skip with `input_skip`) -> `code_size` code (rectified with `code_act`) -> decoder (mirrored or linear) -> cat logits and cont values."
    bin_inputs, code_act, clip_inputs, input_skip = False, None, False, False  # class defaults, so models pickled before these options existed still run
    def __init__(self,
        emb_szs:list, # (n_classes, embedding size) per categorical column
        n_cont:int, # number of continuous columns
        code_size:int=128, # size of the code (the bottleneck)
        cat_dict:dict|list=None, # classes per categorical column: a `{name: n_classes}` dict or a list
        low:Tensor|list=None, high:Tensor|list=None, # per column (normalized units): the continuous head's `SigmoidRange` bounds, or with `bound_pad` the training range they widen
        layers:list=(1024, 512, 256), # encoder sizes; the mirrored decoder reverses them, the linear one maps the code to the first
        ps:float=0.1, # dropout in the decoder's hidden layers (the article's `ps`)
        embed_p:float=0.01, # dropout on the embeddings
        swap_p:float|list=0.1, # swap noise rate: one for all, or one per input column in the model's order (cats incl. `<col>_na`, then conts)
        act_cls:type=FastMish, # activation class (`nn.Mish` with a fast bf16 CPU path)
        head_p:float|None=None, # dropout before the two heads, defaults to `ps` as in the article
        code_p:float|None=None, # dropout on the code as the decoder reads it, defaults to `ps` as in the article
        enc_ps:float=0., # dropout in the encoder's hidden layers (none in the article)
        decoder:str='mirror', # 'mirror': the encoder's layers reversed (the article); 'linear': one linear layer, so every logit is linear in the code
        bin_edges:Tensor=None, # `(n_cont, n_bins - 1)` bin edges per continuous column (normalized units, `inf`-padded): adds `bin_head`, see `BinLoss`
        bin_inputs:bool=False, # also embed each continuous column's bin (of `bin_edges`) as an input, beside its value
        code_act:str|None=None, # None: a linear code (the article); 'relu': a rectified, sparse code, which tree models split more easily
        clip_inputs:bool=False, # clip continuous inputs to the continuous head's range (`low`..`high`), so a value far outside the training range cannot swamp the code
        input_skip:bool=False, # add a linear map of the encoder's input to the code, beside the MLP, so every input reaches the code by a straight path
        bound_pad:float|None=None, # widen the training range `low`/`high` by this fraction of it for the head's bounds, and clamp outputs to it in eval mode (None: `low`/`high` are the bounds, nothing clamped)
    ):
        layers, ps, enc_ps = _as_list(layers), _as_list(ps), _as_list(enc_ps)
        if bound_pad is not None and not _is_p(bound_pad, high=math.inf): raise TabaeInputError(f"`bound_pad` must be None or a number >= 0, got {bound_pad!r}")
        _check_arch(code_size, layers, decoder, code_act)
        code_size, layers = int(code_size), [int(l) for l in layers]  # plain ints and floats, so `save_encoder`'s JSON takes numpy's too
        cat_dict = ifnone(cat_dict, [n for n, _ in emb_szs])
        edges = _f32(bin_edges).reshape(n_cont, -1) if bin_edges is not None and n_cont else None
        if bin_inputs and edges is None: raise TabaeInputError("`bin_inputs` needs `bin_edges` and continuous columns")
        self.bin_inputs = bool(bin_inputs)
        if bin_inputs:  # one embedding per continuous column, after the categorical ones; `forward` appends the bins to `x_cat`
            emb_szs = list(emb_szs) + [(edges.shape[1] + 1, emb_sz_rule(edges.shape[1] + 1))] * n_cont
        for n, p in dict(ps=ps, enc_ps=enc_ps, embed_p=embed_p, head_p=ifnone(head_p, 0.), code_p=ifnone(code_p, 0.)).items(): _check_p(n, p)
        ps, enc_ps, embed_p = _floats(ps), _floats(enc_ps), float(embed_p)
        head_p, code_p = (None if p is None else float(p) for p in (head_p, code_p))
        act = act_cls() if isinstance(act_cls, type) else act_cls
        super().__init__(emb_szs, n_cont, out_sz=code_size, layers=layers, ps=enc_ps, embed_p=embed_p, act_cls=act)
        self.n_classes, self.code_size = _n_classes(cat_dict), code_size
        self.noise = BatchSwapNoise(swap_p)
        self.code_act, self.clip_inputs, self.input_skip = code_act, bool(clip_inputs), bool(input_skip)
        if input_skip: self.skip = nn.Linear(self.n_emb + n_cont, code_size)
        sizes, dps = [code_size] + layers[::-1], (list(ps) if is_listy(ps) else [ps] * len(layers))[::-1]
        dps[0] = ifnone(code_p, dps[0])
        self.decoder_kind = decoder
        self.decoder = nn.Sequential(*[LinBnDrop(sizes[i], sizes[i+1], p=dps[i], act=act) for i in range(len(layers))] if decoder == 'mirror'
                                     else [LinBnDrop(code_size, layers[0], bn=False, p=dps[0], act=None)])
        if edges is not None:
            self.register_buffer('bin_edges', edges)
            self.bin_head = nn.Linear(layers[0], n_cont * (self.bin_edges.shape[1] + 1))
        head_p = ifnone(head_p, (list(ps) if is_listy(ps) else [ps])[0])
        low = ifnone(low, torch.full((n_cont,), -3.)); high = ifnone(high, torch.full((n_cont,), 3.))
        self.cat_head = _head(layers[0], sum(self.n_classes), head_p)
        self.cont_head = nn.Sequential(_head(layers[0], n_cont, head_p), BufferedSigmoidRange(low, high, bound_pad))

    def forward(self, x_cat:Tensor, x_cont:Tensor=None, encode:bool=False) -> Tensor|tuple[Tensor, Tensor]:
        "The code when `encode`, else `(cat_logits, conts)`; inputs clipped with `clip_inputs` (always), swap noise in training only."
        nc = x_cat.shape[1]
        if self.clip_inputs and x_cont is not None: x_cont = self.clip(x_cont)
        x_cat, x_cont = self.noise(x_cat, cols=slice(0, nc)), (self.noise(x_cont, cols=slice(nc, None)) if x_cont is not None else x_cont)  # by keyword: fastai's hooks (`summary`) read tensors only
        x = self.encoder_input(torch.cat([x_cat, self.bins(x_cont)], 1) if self.bin_inputs else x_cat, x_cont)
        code = self.layers(x) + self.skip(x) if self.input_skip else self.layers(x)
        if self.code_act is not None: code = CODE_ACTS[self.code_act](code)
        return code if encode else self.decode(code)

    def encoder_input(self, x_cat:Tensor, x_cont:Tensor=None) -> Tensor:
        "The encoder's input, as `TabularModel.forward` builds it: the embeddings (after `emb_drop`) beside the batch-normalized numbers."
        xs = [self.emb_drop(torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1))] if self.n_emb else []
        if self.n_cont: xs.append(x_cont if self.bn_cont is None else self.bn_cont(x_cont))
        return torch.cat(xs, 1)

    @property
    def n_bins(self) -> int:
        "Bins per continuous column that `bin_head` predicts (0: no bin head)."
        return self.bin_edges.shape[1] + 1 if hasattr(self, 'bin_head') else 0

    @property
    def cont_range(self) -> tuple[Tensor, Tensor]:
        "The `(low, high)` per continuous column (normalized units) of the continuous head's `SigmoidRange`: the training range widened by `bound_pad` (in eval mode the outputs are clamped to the training range, `data_range`)."
        return self.cont_head[-1].low, self.cont_head[-1].high

    def clip(self, conts:Tensor) -> Tensor:
        "`conts` (normalized units) clipped to the continuous head's range (`cont_range`), per column."
        return torch.clamp(conts, *self.cont_range)

    def bins(self, conts:Tensor) -> Tensor:
        "The bin of each continuous value (normalized units), shape `(n, n_cont)`."
        return bucketize_cols(conts, self.bin_edges)

    def decode(self, code:Tensor) -> tuple[Tensor, Tensor]:
        "`(cat_logits, conts)` rebuilt from `code`."
        h = self.decoder(code)
        return self.cat_head(h), self.cont_head(h)
