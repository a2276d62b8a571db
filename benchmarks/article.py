"""The article's pipeline ("AutoEncoders in fastai"), as written, with only the changes it needs to run on fastai 2.8.

The baseline that benchmarks/speed.py measures tabae against. Changes from the article, and nothing else:
- `TabDataLoaderIdentity` keeps fastai's `do_item` (the article's `do_item = noops` crashes the first pass);
- `BatchSwapNoise` makes its random tensors on the input's device (the article's are CPU-only) and flattens with `reshape`;
- the `SigmoidRange` bounds are plain tensors moved with the model (the article hard-wires `.cuda()`);
- the training loader shuffles without replacement (fastai 2.8 defaults tabular loaders to `TabWeightedDL`).
"""
from fastai.tabular.all import *

class ReadTabBatchIdentity(ItemTransform):
    "The article's batch reader: `(cats, conts, cats, conts)` built from the pandas rows of each batch."
    def __init__(self, to): self.to = to
    def encodes(self, to):
        if not to.with_cont: res = (tensor(to.cats).long(),) + (tensor(to.cats).long(),)
        else: res = (tensor(to.cats).long(), tensor(to.conts).float()) + (tensor(to.cats).long(), tensor(to.conts).float())
        if to.device is not None: res = to_device(res, to.device)
        return res

class TabularPandasIdentity(TabularPandas): pass

@delegates()
class TabDataLoaderIdentity(TabDataLoader):
    "The article's loader: `.iloc` on the TabularPandas for every batch."
    def __init__(self, dataset, bs=16, shuffle=False, after_batch=None, num_workers=0, **kwargs):
        if after_batch is None: after_batch = L(TransformBlock().batch_tfms) + ReadTabBatchIdentity(dataset)
        super().__init__(dataset, bs=bs, shuffle=shuffle, after_batch=after_batch, num_workers=num_workers, **kwargs)
    def create_batch(self, b): return self.dataset.iloc[b]

TabularPandasIdentity._dl_type = TabDataLoaderIdentity

class BatchSwapNoise(Module):
    "The article's swap noise, with its random tensors made on the input's device."
    def __init__(self, p): store_attr()
    def forward(self, x):
        if self.training:
            dev = x.device
            mask = torch.rand(x.size(), device=dev) > (1 - self.p)
            idx = torch.add(torch.arange(x.nelement(), device=dev),
                            (torch.floor(torch.rand(x.size(), device=dev) * x.size(0)).long() * (mask.long() * x.size(1))).view(-1))
            idx[idx >= x.nelement()] = idx[idx >= x.nelement()] - x.nelement()
            return x.reshape(-1)[idx].view(x.size())  # `reshape`: fastai 2.8 batches can be non-contiguous
        return x

class TabularAE(TabularModel):
    "The article's model."
    def __init__(self, emb_szs, n_cont, hidden_size, cats, low, high, ps=0.2, embed_p=0.01, bswap=None, act_cls=Mish()):
        super().__init__(emb_szs, n_cont, layers=[1024, 512, 256], out_sz=hidden_size, embed_p=embed_p, act_cls=act_cls)
        self.bswap = bswap
        self.noise = BatchSwapNoise(bswap) if bswap else noop
        self.decoder = nn.Sequential(LinBnDrop(hidden_size, 256, p=ps, act=act_cls), LinBnDrop(256, 512, p=ps, act=act_cls),
                                     LinBnDrop(512, 1024, p=ps, act=act_cls))
        self.decoder_cont = nn.Sequential(LinBnDrop(1024, n_cont, p=ps, bn=False, act=None), SigmoidRange(low=low, high=high))
        self.decoder_cat = LinBnDrop(1024, cats, p=ps, bn=False, act=None)

    def forward(self, x_cat, x_cont=None, encode=False):
        if self.bswap is not None:
            x_cat, x_cont = self.noise(x_cat), self.noise(x_cont)
        encoded = super().forward(x_cat, x_cont)
        if encode: return encoded
        decoded_trunk = self.decoder(encoded)
        return self.decoder_cat(decoded_trunk), self.decoder_cont(decoded_trunk)

    def _apply(self, fn, *args, **kwargs):
        res = super()._apply(fn, *args, **kwargs)
        low, high = self.decoder_cont[1].low, self.decoder_cont[1].high
        self.decoder_cont[1].low, self.decoder_cont[1].high = fn(low), fn(high)  # instead of the article's `.cuda()`
        return res

class RecreatedLoss(Module):
    "The article's loss."
    reduction = 'sum'
    def __init__(self, cat_dict): store_attr()
    def forward(self, preds, cat_targs, cont_targs):
        cats, conts = preds
        CE = cats.new_zeros(1)
        pos = 0
        for i, (k, v) in enumerate(self.cat_dict.items()):
            CE += F.cross_entropy(cats[:, pos:pos + v], cat_targs[:, i], reduction='sum')
            pos += v
        norm_cats, norm_conts = cats.new([len(self.cat_dict)]), conts.new([conts.size(1)])
        total_loss = CE / norm_cats + F.mse_loss(conts, cont_targs, reduction='sum') / norm_conts
        return total_loss / cats.size(0)

def article_learner(df, cat_names, cont_names, bs=1024, seed=0, device=None):
    "The article's data, model and `Learner` (ranger, wd=0.01, swap noise 0.1, ps=0.1)."
    device = ifnone(device, default_device())
    to = TabularPandasIdentity(df[cat_names + cont_names], [Categorify, FillMissing, Normalize], cat_names, cont_names,
                               splits=RandomSplitter(seed=seed)(range_of(df)))
    dls = to.dataloaders(bs=bs, device=device, dl_type=TabDataLoaderIdentity)
    dls.n_inp = 2
    cat_dict = {n: len(to.classes[n]) for n in to.cat_names}
    low, high = tensor(to.train.conts.min().values).float(), tensor(to.train.conts.max().values).float()
    model = TabularAE(get_emb_sz(to), len(to.cont_names), 128, sum(cat_dict.values()), low, high, ps=0.1, bswap=0.1).to(device)
    return Learner(dls, model, loss_func=RecreatedLoss(cat_dict), wd=0.01, opt_func=ranger)

def article_encode(learn, df):
    "The article's encoding loop over `test_dl`."
    dl = learn.dls.test_dl(df)
    outs = []
    learn.model.eval()
    for batch in dl:
        with torch.no_grad(): outs.append(learn.model(batch[0], batch[1], encode=True).cpu().numpy())
    return np.concatenate(outs)
