"""`ae_learner`: a fastai `Learner` for a `TabularAE`, built from the `DataLoaders` alone."""
from __future__ import annotations
from fastai.tabular.all import *
from .data import TabDataLoaderIdentity
from .loss import RecreatedLoss
from .metrics import CatAccuracy, ReconR2
from .model import TabularAE
from .precision import AutoMixedPrecision

__all__ = ['cont_bounds', 'ae_learner']

def cont_bounds(dls:DataLoaders, pad:float=0.) -> tuple[Tensor, Tensor]:
    "Per-column (low, high) of the training split's normalized continuous values, widened by `pad` times the range."
    conts = dls.train.conts
    if not len(conts): raise ValueError("The training split has no rows: cannot set the continuous bounds")
    lo, hi = conts.min(0).values.float().cpu(), conts.max(0).values.float().cpu()
    return lo - pad * (hi - lo), hi + pad * (hi - lo)

@delegates(Learner.__init__)
def ae_learner(dls:DataLoaders,
    code_size:int=128, # size of the code
    layers:list=(1024, 512, 256), # encoder sizes; the decoder mirrors them
    ps:float=0.1, # dropout in the hidden layers
    embed_p:float=0.01, # dropout on the embeddings
    swap_p:float=0.1, # swap noise rate
    act_cls=Mish, # activation
    head_p:float=None, # dropout before the heads (defaults to `ps`)
    emb_szs:dict=None, # embedding size overrides, `{column: size}`
    bound_pad:float=0., # widen the continuous head's range by this fraction of each column's range
    opt_func=ranger, # optimizer
    wd:float=0.01, # weight decay
    mixed_precision:bool=True, # bf16/fp16 autocast where the device supports it
    **kwargs
) -> Learner:
    "A `Learner` with a `TabularAE` and `RecreatedLoss` sized from `dls` (the article's defaults), on `dls.device`."
    to = dls.train_ds
    if not isinstance(dls.train, TabDataLoaderIdentity): raise ValueError("`dls` must yield (cats, conts, cats, conts) batches: build them with `TabularPandasIdentity`")
    cat_dict = {n: len(to.classes[n]) for n in to.cat_names}
    low, high = cont_bounds(dls, bound_pad)
    model = TabularAE(get_emb_sz(to, ifnone(emb_szs, {})), len(to.cont_names), code_size, cat_dict, low, high,
                      layers=layers, ps=ps, embed_p=embed_p, swap_p=swap_p, act_cls=act_cls, head_p=head_p)
    metrics = kwargs.pop('metrics', [m for m, ok in ((ReconR2(), len(to.cont_names)), (CatAccuracy(cat_dict), cat_dict)) if ok])
    cbs = L(kwargs.pop('cbs', None)) + (L(AutoMixedPrecision()) if mixed_precision else L())
    return Learner(dls, model.to(ifnone(dls.device, default_device())), loss_func=RecreatedLoss(cat_dict),
                   opt_func=opt_func, wd=wd, metrics=metrics, cbs=cbs, **kwargs)
