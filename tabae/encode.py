"""Rows in, codes out: `encode` and `reconstruct` on any DataFrame, processed exactly as the training data."""
from __future__ import annotations
from collections import Counter
from fastai.tabular.all import *
from fastprogress.fastprogress import progress_bar
from .errors import TabaeInputError, UnseenCategoryWarning, _warn_unseen  # UnseenCategoryWarning, process_frame: still importable from here, where they were defined before (pickled warnings name this module)
from .inference import FoldedEncoder
from .loss import RecreatedLoss
from .model import _finite_weights
from .precision import amp_dtype
from .process import _ClassIndex, _classes_per_column, _decoded, _process, process_frame
from .validate import _SHIFT, _InputShift, _check_positive_int, _check_procs, check_columns, user_columns

__all__ = ['model_outputs', 'encode', 'decode_outputs', 'reconstruct']

def _chunks(n:int, size:int): return [slice(i, min(i + size, n)) for i in range(0, n, size)]

def _encoder(model, deep_stack:bool=False, mixed_precision:bool=True) -> Module:
    "The fastest eval-mode encoder of `model`: `FoldedEncoder` (bf16 where `amp_dtype` allows it and `mixed_precision`) where its layout allows, else the model's own."
    dtype = amp_dtype(next(model.parameters()).device) if mixed_precision else None
    try: return partial(FoldedEncoder(model, dtype=dtype if dtype == torch.bfloat16 else torch.float32), stack=deep_stack)
    except (ValueError, AttributeError, IndexError, TypeError):
        if deep_stack: raise TabaeInputError("`deep_stack` needs an encoder of `LinBnDrop` blocks (the `TabularAE` layout)")
        return partial(model, encode=True)

def model_outputs(learn:Learner, df:pd.DataFrame, bs:int=4096, encode:bool=True, chunk:int=65536, progress:bool=None,
                  deep_stack:bool=False, mixed_precision:bool=True, labels:bool=False) -> Iterator[tuple]:
    "Yield `(rows, output)` for `df` in chunks: the code (`encode`, all hidden activations too with `deep_stack`) or the model's `(cat_logits, conts)` (with `labels`, each categorical column's class index instead of its logits, taken a batch at a time), in eval mode."
    _check_positive_int('bs', bs)
    model, dev = learn.model, next(learn.model.parameters()).device
    if not _finite_weights(model):
        raise TabaeInputError("The model's weights are not finite (a fit diverged): refit, or load saved weights, before encoding")
    _check_procs(learn)
    cat_names, cont_names = user_columns(learn.dls.train_ds)
    check_columns(df, cat_names + cont_names)
    chunks = _chunks(len(df), max(chunk, bs))
    progress = ifnone(progress, len(chunks) > 2)
    was_training = model.training
    model.eval()
    net = _encoder(model, deep_stack, mixed_precision) if encode else model
    unseen, index, shared = Counter(), _ClassIndex(learn.dls.train_ds), _SHIFT.get()
    shift = shared or _InputShift.of(learn)  # one shared over a file's chunks (`_InputShift.shared`), else this call's own
    out_of = _decodes(learn) if labels and not encode else noop  # a chunk of logits is rows x every class of every column: gigabytes for a column of 24k classes
    try:
        for sl in progress_bar(chunks, leave=False) if progress else chunks:
            part = df.iloc[sl]
            cats, conts, counts = _process(learn, part, index)
            unseen.update(counts)
            shift.update(part, conts, index)
            outs = []
            with torch.inference_mode():
                for b in _chunks(len(cats), bs):
                    out = out_of(net(cats[b].to(dev), conts[b].to(dev)))
                    outs.append(out.float().cpu() if encode else tuple((o if o.dtype == torch.long else o.float()).cpu() for o in out))
            yield sl, torch.cat(outs) if encode else tuple(torch.cat(o) for o in zip(*outs))
    finally: model.train(was_training)
    _warn_unseen(dict(unseen), index.examples)  # once for the whole frame, not per chunk
    if shared is None: shift.warn()

def encode(learn:Learner, df:pd.DataFrame, bs:int=4096, prefix:str='ae_', progress:bool=None, deep_stack:bool=False,
           mixed_precision:bool=True) -> pd.DataFrame:
    "The code of every row of `df` as a DataFrame with `df`'s index and columns `ae_0..` (with `deep_stack`, each hidden layer's activations first, `ae_h0_0..`, `ae_h1_0..`, ...); bf16 matmuls where the hardware has them unless `mixed_precision=False`."
    check_columns(df, [])
    if not isinstance(prefix, str): raise TabaeInputError(f"`prefix` must be a string (the code columns are `prefix` + 0, 1, ...), got {prefix!r}")
    m = learn.model
    widths = [l.out_features for l in m.layers.modules() if isinstance(l, nn.Linear)][:-1] if deep_stack else []
    columns = [f'{prefix}h{j}_{i}' for j, w in enumerate(widths) for i in range(w)] + [f'{prefix}{i}' for i in range(m.code_size)]  # `ae_3` is the code's unit 3 in both
    res = np.empty((len(df), len(columns)), dtype=np.float32)
    for sl, code in model_outputs(learn, df, bs=bs, encode=True, progress=progress, deep_stack=deep_stack, mixed_precision=mixed_precision):
        res[sl] = code.numpy()
    return pd.DataFrame(res, index=df.index, columns=columns, copy=False)

def _decodes(learn:Learner):
    "What maps the model's `(cat_logits, conts)` to `(class index per categorical column, conts)`."
    return RecreatedLoss(_classes_per_column(learn.dls.train_ds)).decodes

def decode_outputs(learn:Learner, out:tuple) -> pd.DataFrame:
    "The rows that the model's `(cat_logits, conts)` output stands for: the user's cat and cont columns, in labels and original units."
    return _rows(learn, *_decodes(learn)(out))

def _rows(learn:Learner, pc:Tensor, pf:Tensor, index:_ClassIndex=None) -> pd.DataFrame:
    "The rows of class indices `pc` and processed numbers `pf`, in labels and original units: fastai's '#na#' (missing or unseen) as missing, each categorical column in one dtype for its kind of class (`_class_column`; `index`: the training classes, if already built), float32's noise rounded off (a rebuild clamped to the training minimum is that minimum)."
    tmpl = learn.dls.train_ds
    frame = pd.concat([pd.DataFrame(pf.float().cpu().numpy().astype(np.float64), columns=list(tmpl.cont_names)),
                       pd.DataFrame(pc.cpu().numpy(), columns=list(tmpl.cat_names))], axis=1)
    cats, conts = user_columns(tmpl)
    res = _decoded(tmpl, frame[list(tmpl.x_names)])
    at = {c: i for i, c in enumerate(tmpl.cat_names)}
    index = ifnone(index, _ClassIndex(tmpl))
    for c, dtype in index.dtypes.items(): res[c] = _class_column(pc[:, at[c]].cpu().numpy() - 1, dtype, index.ordered.get(c))
    return res[cats + conts]

def _class_column(codes:np.ndarray, dtype:pd.CategoricalDtype, ordered:pd.CategoricalDtype|None=None) -> pd.Series:
    "The classes at `codes` (positions in `dtype`'s categories; -1, fastai's '#na#', as missing) in one dtype per kind of class, whatever the rows: `ordered`, the user's ordered categorical, if given; else nullable `Int64`/`UInt64` and `boolean` for whole numbers and booleans, else the classes' own (float64, text)."
    if ordered is not None: return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype)).astype(ordered)
    cls = dtype.categories
    to = 'boolean' if cls.inferred_type == 'boolean' else {'i': 'Int64', 'u': 'UInt64'}.get(cls.dtype.kind, cls.dtype)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype)).astype(to)

def reconstruct(learn:Learner, df:pd.DataFrame, bs:int=4096, progress:bool=None) -> pd.DataFrame:
    "The autoencoder's rebuild of `df`'s cat and cont columns: labels and original units, same index, columns in `df`'s order."
    parts, index = [], _ClassIndex(learn.dls.train_ds)  # built once, not per chunk
    for _, out in model_outputs(learn, df, bs=bs, encode=False, progress=progress, labels=True): parts.append(_rows(learn, *out, index))
    if not parts:  # no rows: the columns and dtypes of a rebuilt row of each column's first class
        m = get_model(learn.model)
        parts = [_rows(learn, torch.tensor([[min(1, n - 1) for n in m.n_classes]]), torch.zeros(1, m.n_cont), index).iloc[:0]]
    res = pd.concat(parts, ignore_index=True)
    res.index = df.index
    return res[[c for c in df.columns if c in res.columns]]
