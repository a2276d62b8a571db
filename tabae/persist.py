"""Safe persistence: `save_encoder`/`load_encoder` keep weights in safetensors and everything else in JSON, so loading never unpickles."""
from __future__ import annotations
import json
from fastai.tabular.all import *
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from . import __version__
from .activations import FastMish, _is_mish
from .data import TabularPandasIdentity
from .errors import TabaeInputError
from .learner import AELearner, _assemble
from .loss import BinLoss, RecreatedLoss
from .model import TabularAE
from .procs import RankGauss
from .process import _classes_per_column, _ordered
from .validate import _NA, _check_procs

__all__ = ['WEIGHTS_FILE', 'CONFIG_FILE', 'save_encoder', 'load_encoder']

WEIGHTS_FILE, CONFIG_FILE, _FORMAT, _VERSION = 'model.safetensors', 'tabae.json', 'tabae-encoder', 5
"The files of a `save_encoder` directory (weights, and the JSON of everything else), and the format and version that JSON names."
_READS = (1, 2, 3, 4, 5)  # version 2 added bin inputs and bin weights, version 3 the code's activation, version 4 input clipping and the input skip, version 5 the exact training range of a clamped head; older files load as before
_ACTIVATIONS = {'Mish': FastMish, **{c.__name__: c for c in (nn.ReLU, nn.GELU, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.Tanh, nn.Sigmoid)}}
"Activations that `tabae.json` can name; 'Mish' (`nn.Mish` or `FastMish`, the same function) loads as `FastMish`."

def _version(m:TabularAE) -> int:
    "The oldest format version that describes `m`: an older tabae would fail on the training range a padded head keeps (5) or the input skip's weights (4), or drop input clipping (4) or the code's activation (3), so only such models get those."
    return _VERSION if m.cont_head[-1].pad else 4 if m.clip_inputs or m.input_skip else 3 if m.code_act is not None else 2

def _act_name(o:nn.Module) -> str:
    "The name `tabae.json` gives module `o`: 'Mish' for both Mish classes, else its class name."
    return 'Mish' if _is_mish(o) else type(o).__name__

def _py(o, what:str):
    "`o` as a plain JSON value (str, int, float or bool)."
    o = o.item() if isinstance(o, np.generic) else o
    if not isinstance(o, (str, int, float, bool)): raise TabaeInputError(f"Cannot save {what} {o!r} ({type(o).__name__}) as JSON: only str, int, float and bool values can be saved")
    return o

def _pairs(d:dict, f=float) -> list: return [[_py(k, 'the column name'), f(v)] for k, v in d.items()]

def _proc_state(p) -> dict:
    "The fitted state of a `TabularProc` that `_new_proc` rebuilds."
    name = type(p).__name__
    if type(p) is Categorify:
        ordered = _pairs(_ordered(p), lambda v: [_py(o, 'the category') for o in v])  # the ordered categoricals' categories, in order
        return {'proc': name, 'classes': _pairs(p.classes, lambda v: [_py(o, 'the category') for o in v.items]), **({'ordered': ordered} if ordered else {})}
    if type(p) is FillMissing: return {'proc': name, 'add_col': bool(p.add_col), 'na_dict': _pairs(p.na_dict, lambda v: _py(v, 'the fill value'))}
    if type(p) is Normalize: return {'proc': name, 'means': _pairs(p.means), 'stds': _pairs(p.stds)}
    if type(p) is RankGauss: return {'proc': name, 'n_quantiles': int(p.n_quantiles), 'quantiles': _pairs(p.quantiles, lambda v: np.asarray(v, np.float64).tolist())}
    raise TabaeInputError(f"Cannot save the proc {name} as JSON (Categorify, FillMissing, RankGauss and Normalize can be): use `learn.export()` for it, a pickle")

def _new_proc(s:dict):
    "A fitted proc from its `_proc_state`."
    name = s['proc']
    if name == 'Categorify':
        p = Categorify()
        p.classes = {n: CategoryMap(items[1:], sort=False, add_na=True) for n, items in s['classes']}
        if any(items[:1] != [_NA] or len(p.classes[n]) != len(items) for n, items in s['classes']): raise ValueError("malformed Categorify classes")
        p.ordered = {n: list(v) for n, v in (o if isinstance(o, list) else [o, p.classes[o].items[1:]] for o in s.get('ordered', []))}  # files without the key kept none; names alone (an earlier form): the training classes
        if any(n not in p.classes or not set(p.classes[n].items[1:]) <= set(v) for n, v in p.ordered.items()): raise ValueError("malformed ordered categories")
    elif name == 'FillMissing': p = FillMissing(add_col=bool(s['add_col'])); p.na_dict = dict(s['na_dict'])
    elif name == 'Normalize': p = Normalize(); p.means, p.stds = dict(s['means']), dict(s['stds'])
    elif name == 'RankGauss': p = RankGauss(int(s['n_quantiles'])); p.quantiles = {n: np.asarray(q, np.float64) for n, q in s['quantiles']}
    else: raise ValueError(f"unknown proc {name!r}")
    return p

def _drop_p(m:nn.Module) -> float: return ifnone(first(o.p for o in m.modules() if isinstance(o, nn.Dropout)), 0.)

def _arch(m:TabularAE) -> dict:
    "The `TabularAE` arguments that rebuild `m`'s layout (its bounds and weights are in the state dict)."
    act = first(o for o in m.layers[0] if not isinstance(o, (nn.Linear, nn.BatchNorm1d, nn.Dropout)))
    name = _act_name(act)
    if name not in _ACTIVATIONS or (name != 'Mish' and _ACTIVATIONS[name] is not type(act)):
        raise TabaeInputError(f"Cannot save the activation {type(act).__name__} as JSON (one of {list(_ACTIVATIONS)} can be): use `learn.export()`, a pickle")
    return {'emb_szs': [[e.num_embeddings, e.embedding_dim] for e in m.embeds[:len(m.n_classes)]], 'n_cont': m.n_cont, 'code_size': m.code_size,
            'cat_dict': list(m.n_classes), 'layers': [b[0].out_features for b in m.layers[:-1]],
            'ps': [_drop_p(b) for b in m.decoder][::-1], 'enc_ps': [_drop_p(b) for b in m.layers[:-1]],
            'embed_p': m.emb_drop.p, 'swap_p': np.asarray(m.noise.p, np.float64).tolist(), 'act': name,
            'head_p': _drop_p(m.cat_head), 'code_p': _drop_p(m.decoder[0]), 'decoder': getattr(m, 'decoder_kind', 'mirror'), 'n_bins': m.n_bins,
            'bin_inputs': m.bin_inputs, 'code_act': m.code_act, 'clip_inputs': m.clip_inputs,
            'input_skip': m.input_skip, 'bound_pad': m.cont_head[-1].pad}

def _new_model(a:dict, state:dict) -> TabularAE:
    "A `TabularAE` built from `_arch` and filled from `state`; built on the meta device, so the JSON sizes allocate nothing."
    if a['act'] not in _ACTIVATIONS: raise ValueError(f"unknown activation {a['act']!r}")
    flags = {k: a.get(k, False) for k in ('bin_inputs', 'clip_inputs', 'input_skip')}  # absent from older files: off
    if bad := [k for k, v in flags.items() if not isinstance(v, bool)]: raise ValueError(f"{bad} must be true or false")
    with torch.device('meta'):
        m = TabularAE([tuple(o) for o in a['emb_szs']], a['n_cont'], a['code_size'], a['cat_dict'], torch.zeros(a['n_cont']), torch.zeros(a['n_cont']),
                      layers=a['layers'], ps=a['ps'], enc_ps=a['enc_ps'], embed_p=a['embed_p'], swap_p=a['swap_p'], act_cls=_ACTIVATIONS[a['act']],
                      head_p=a['head_p'], code_p=a['code_p'], decoder=a.get('decoder', 'mirror'),
                      bin_edges=torch.zeros(a['n_cont'], a['n_bins'] - 1) if a.get('n_bins') else None, code_act=a.get('code_act'), bound_pad=a.get('bound_pad'), **flags)  # `bound_pad` absent from older files: nothing clamped
    m.load_state_dict(state, strict=True, assign=True)
    return m

def _class_weights(loss) -> list|None:
    "The class weights of a `RecreatedLoss`, one list per categorical column, or `None`."
    w = loss.class_weights if isinstance(loss, RecreatedLoss) else None
    return None if w is None else [t.tolist() for t in torch.split(w, loss.n_classes)]

def _check_weights(weights:list, what:str):
    "Raise `ValueError` unless every saved weight is a finite number >= 0."
    t = torch.cat([torch.as_tensor(w, dtype=torch.float64).flatten() for w in weights]) if len(weights) else torch.zeros(0)
    if not (torch.isfinite(t) & (t >= 0)).all(): raise ValueError(f"{what} must be finite and >= 0")

def _new_loss(model:TabularAE, weights:list|None) -> RecreatedLoss:
    "The model's `RecreatedLoss`, with the saved class weights if any (checked against its classes)."
    if weights is not None and [len(w) for w in weights] != list(model.n_classes):
        raise ValueError(f"class weights for {[len(w) for w in weights]} classes, the model has {list(model.n_classes)}")
    if weights is not None: _check_weights(weights, 'class weights')
    return RecreatedLoss(model.n_classes, class_weights=weights)

def _bin_weights(learn:Learner) -> list|None:
    "The per-bin weights of `learn`'s `BinLoss`, one list per continuous column, or `None`."
    cb = first(c for c in learn.cbs if isinstance(c, BinLoss))
    return None if cb is None or cb.class_weights is None else cb.class_weights.tolist()

def _bin_loss(model:TabularAE, weights:list|None) -> list:
    "`[BinLoss]` with the saved bin weights (checked against the model's bins) where the model has a bin head, else `[]`."
    if not model.n_bins:
        if weights is not None: raise ValueError("bin weights for a model without a bin head")
        return []
    if weights is None: return [BinLoss()]
    w = torch.as_tensor(weights, dtype=torch.float32)
    if list(w.shape) != [model.n_cont, model.n_bins]:
        raise ValueError(f"bin weights of shape {list(w.shape)}, the model has {model.n_cont} columns of {model.n_bins} bins")
    _check_weights([w], 'bin weights')
    return [BinLoss(w)]

def _layout(m:nn.Module) -> list: return [(n, _act_name(o), o.extra_repr()) for n, o in m.named_modules()]

def save_encoder(learn:Learner, path:str|Path) -> Path:
    "Save `learn`'s autoencoder to the directory `path`: weights in `model.safetensors`, procs and architecture in `tabae.json`."
    model, to = get_model(learn.model), learn.dls.train_ds
    if not isinstance(model, TabularAE): raise TabaeInputError(f"`save_encoder` saves a `TabularAE`, got {type(model).__name__}")
    _check_procs(learn)  # else the file's procs would not match its weights: `load_encoder` refused it
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    cfg = {'format': _FORMAT, 'version': _version(model), 'tabae_version': __version__,
           'cat_names': [_py(c, 'the column name') for c in to.cat_names], 'cont_names': [_py(c, 'the column name') for c in to.cont_names],
           'procs': [_proc_state(p) for p in to.procs.fs], 'model': _arch(model), 'class_weights': _class_weights(learn.loss_func), 'bin_weights': _bin_weights(learn),
           'wd': float(learn.wd) if isinstance(learn.wd, (int, float)) else None}
    if _layout(_new_model(cfg['model'], state)) != _layout(model):
        raise TabaeInputError(f"This {type(model).__name__} has a layout that `tabae.json` cannot describe (a custom activation or layer?): use `learn.export()`")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_file(state, path/WEIGHTS_FILE, metadata={'format': _FORMAT})
    (path/CONFIG_FILE).write_text(json.dumps(cfg, ensure_ascii=False, indent=1), encoding='utf-8')
    return path

def _template(cfg:dict) -> DataLoaders:
    "Empty `DataLoaders` whose `train_ds` carries the fitted procs and column names, as `encode` and `evaluate` need."
    cats, conts = cfg['cat_names'], cfg['cont_names']
    if len(set(cats + conts)) != len(cats + conts): raise ValueError("column names repeat")
    row = pd.DataFrame({**{c: np.zeros(1, np.int64) for c in cats}, **{c: np.zeros(1) for c in conts}})  # one processed row, dropped below
    to = TabularPandasIdentity(row, [_new_proc(s) for s in cfg['procs']], cats, conts, splits=([0], [0]), do_setup=False, reduce_memory=False)
    return to.dataloaders(device='cpu').new_empty()

def load_encoder(path:str|Path, device:str|torch.device|None=None, mixed_precision:bool=True, opt_func:Callable=ranger) -> AELearner:
    "An `AELearner` that `encode`, `reconstruct` and `evaluate` accept (and that fine-tunes as `ae_learner` does: the saved loss and weight decay, `opt_func`, mixed precision unless told not to), from a `save_encoder` directory, on `device` (default: the GPU if any); no pickle is read."
    path = Path(path)
    for f in (CONFIG_FILE, WEIGHTS_FILE):
        if not (path/f).is_file(): raise TabaeInputError(f"{path} is not a tabae encoder directory: {f} is missing")
    try:
        cfg = json.loads((path/CONFIG_FILE).read_text(encoding='utf-8'))
        if cfg.get('format') != _FORMAT or cfg.get('version') not in _READS: raise ValueError(f"format {cfg.get('format')!r} version {cfg.get('version')!r}, expected {_FORMAT!r} version {' or '.join(map(str, _READS))}")
        # fresh (aligned) copies: safetensors slices one buffer, and misaligned weights change the last bit of some CPU kernels
        state = {k: v.clone() for k, v in load_file(path/WEIGHTS_FILE, device='cpu').items()}
        model, dls = _new_model(cfg['model'], state), _template(cfg)
        to = dls.train_ds
        if (n := list(_classes_per_column(to).values())) != list(model.n_classes) or len(to.cont_names) != model.n_cont:
            raise ValueError(f"its columns ({len(n)} categorical with {n} classes, {len(to.cont_names)} continuous) do not match its weights "
                             f"({len(model.n_classes)} categorical with {list(model.n_classes)} classes, {model.n_cont} continuous)")
        loss, cbs = _new_loss(model, cfg.get('class_weights')), _bin_loss(model, cfg.get('bin_weights'))
        if not isinstance(wd := cfg.get('wd', 0.01), (int, float, type(None))) or isinstance(wd, bool): raise ValueError(f"weight decay {wd!r} is not a number")
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError, SafetensorError) as e:
        raise TabaeInputError(f"{path} does not hold a valid tabae encoder ({type(e).__name__}: {e})") from e
    return _assemble(dls, model, loss, cbs, device, mixed_precision, opt_func=opt_func, wd=wd)
