"""The `tabae` command line (fastcore `call_parse`): `tabae fit`, `encode`, `report` and `demo`; each command has `--help`."""
from __future__ import annotations
import inspect, json, os, re, sys, tempfile, warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator
from fastcore.foundation import L
from fastcore.script import CliError, call_parse, parse_cli

__all__ = ['iter_table', 'fit', 'encode', 'report', 'demo', 'main']

def _header(path:str) -> list:
    "The column names of a `.parquet` (from its schema) or `.csv` file (from its first line)."
    import pandas as pd, pyarrow.parquet as pq
    from .datasets import CSV_OPTIONS
    return pq.ParquetFile(path).schema_arrow.names if str(path).endswith('.parquet') else list(pd.read_csv(path, nrows=0, **CSV_OPTIONS).columns)

def iter_table(path:str, chunk_size:int=65536, columns:list|None=None) -> Iterator:
    "Yield the rows of a `.parquet` (pyarrow record batches) or `.csv` file (pandas chunks, read as `CSV_OPTIONS` says) as DataFrames of at most `chunk_size` rows."
    import pandas as pd
    from .datasets import CSV_OPTIONS
    if chunk_size < 1: raise CliError(f"--chunk-size must be a positive number of rows, got {chunk_size}")
    header = _header(path) if columns is not None else []
    if missing := [c for c in L(columns) if c not in header]: raise CliError(f"{path} lacks the column(s) {missing} (it has {header[:20]})")
    if str(path).endswith('.parquet'):
        import pyarrow.parquet as pq
        start = 0
        for b in pq.ParquetFile(path).iter_batches(batch_size=chunk_size, columns=columns):  # row labels run on across chunks, as a CSV's do
            yield b.to_pandas().set_axis(pd.RangeIndex(start, start + b.num_rows))
            start += b.num_rows
    else:
        with pd.read_csv(path, chunksize=chunk_size, usecols=columns, **CSV_OPTIONS) as chunks: yield from chunks

def _table_rows(path:str) -> int|None:
    "The row count of a parquet file from its metadata; `None` for a CSV (not known before reading it)."
    if not str(path).endswith('.parquet'): return None
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).metadata.num_rows

def _with_progress(chunks, total:int|None, show:bool=True):
    "Yield `chunks`, advancing a fastprogress bar by their rows (out of `total` when known); the bar appears once the first chunk is through, so an error in it prints alone."
    if not show: yield from chunks; return
    from fastprogress.fastprogress import progress_bar
    pb, done = None, 0
    for c in chunks:
        yield c
        done += len(c)
        if pb is None:
            pb = progress_bar(range(0), total='noinfer' if total is None else total, leave=False)
            pb.update(0)
        pb.update(done)
    if pb is not None and pb.last_v is not None: pb.total = done; pb.update(done)

def _cols(names:list|None, what:str) -> list|None:
    "Column names from a `nargs='*'` option: `None` when it was not given."
    if names is not None and len(set(names)) != len(names): raise CliError(f"{what} names a column twice: {names}")
    return names

def _probe(path:Path):
    "Raise the `OSError` that writing would: create and remove a file in the directory `path`, or open the file `path` for appending (an existing file is left as it was)."
    if path.is_dir(): tempfile.TemporaryFile(dir=path).close()
    elif path.exists(): open(path, 'ab').close()
    else: open(path, 'xb').close(); path.unlink()

def _writable_file(path:str, option:str):
    "Check before any work that the file `path` can be written, or raise a `CliError` naming `option`."
    if Path(path).is_dir(): raise CliError(f"{option} must name a file, and {path} is a directory")
    try: _probe(Path(path))
    except OSError as e: raise CliError(f"{option} {path} cannot be written: {e.strerror or e}") from None

@contextmanager
def _out_dir(path:str, option:str='--out'):
    "Make the directory `path` (and its parents) before the work, so one that cannot be written fails at once, not after a fit; the directories made are removed again if the work fails."
    if not str(path).strip(): raise CliError(f"{option} must name a directory to save in, got {path!r}")
    full = Path(path).resolve()  # `a/../m` makes `m` alone, so a failed fit leaves no `a` behind
    if full.exists() and not full.is_dir(): raise CliError(f"{option} must name a directory to save in, and {path} is a file")
    made = [p for p in (full, *full.parents) if not p.exists()]  # deepest first
    def unmake():
        for d in made:
            try: d.rmdir()
            except OSError: break  # not empty, or gone
    try:
        full.mkdir(parents=True, exist_ok=True)
        _probe(full)
    except OSError as e:
        unmake()
        raise CliError(f"{option} {path} cannot be written: {e.strerror or e}") from None
    try: yield full
    except BaseException: unmake(); raise

_OWN_OPTIONS = {'df': 'the TRAIN argument', 'cat_names': '--cat', 'cont_names': '--cont', 'progress': '--quiet'}  # besides `fit`'s own
_PY_ONLY = ['procs', 'cbs', 'act_cls', 'opt_func', 'loss_func', 'splitter', 'metrics', 'default_cbs']  # Python objects, not JSON values

def _json_kw(text:str|None) -> dict:
    "The `fit_autoencoder`/`ae_learner` arguments in `--kw`'s JSON object, or a `CliError` naming what is wrong."
    from .fit import fit_autoencoder
    if text is None: return {}
    try: kw = json.loads(text)
    except json.JSONDecodeError as e: raise CliError(f"--kw must be a JSON object such as '{{\"input_skip\": false}}', got {text!r} ({e})") from None
    if not isinstance(kw, dict): raise CliError(f"--kw must be a JSON object (argument names to values), got {type(kw).__name__}: {text!r}")
    known = set(inspect.signature(fit_autoencoder).parameters) - set(_PY_ONLY)
    if unknown := [k for k in kw if k not in known]:
        raise CliError(f"--kw names {unknown}, which `tabae fit` cannot pass: it takes the JSON-valued arguments of `fit_autoencoder` and `ae_learner`")
    opts = inspect.signature(fit.__wrapped__).parameters
    if own := {k: _OWN_OPTIONS.get(k, f"--{k.replace('_', '-')}") for k in kw if k in _OWN_OPTIONS or k in opts}:
        raise CliError(f"--kw sets {list(own)}, which have their own options: use {list(own.values())}")
    return kw

@call_parse
def fit(
    train:str, # Training table: .csv (optionally compressed; a `?` cell reads as missing, as in UCI files) or .parquet
    out:Annotated[str, "Directory to save the encoder to (safetensors + JSON); made, and checked to be writable, before the fit", {'required': True}]=None,
    cat:Annotated[str, "Categorical columns (default: the non-numeric columns not in --cont/--drop)", {'nargs': '*'}]=None,
    cont:Annotated[str, "Continuous columns (default: the numeric columns not in --cat/--drop)", {'nargs': '*'}]=None,
    drop:Annotated[str, "Columns left out when --cat or --cont is inferred, such as the target", {'nargs': '*'}]=None,
    max_card:int=None, # When --cat is inferred: integer columns of at most this many values are categorical (as fastai's cont_cat_split; default: none)
    code_size:int=128, # Size of the code
    layers:Annotated[int, "Encoder sizes (default: 1024 512 256); the linear decoder maps the code to the first of them", {'nargs': '+'}]=None,
    epochs:int=None, # Most epochs, early stopping may stop sooner (default: fit_autoencoder's, 40)
    lr:float=None, # Learning rate (default: fit_autoencoder's, 5e-3)
    bs:int=None, # Batch size (default: fit_autoencoder's, 16 or more batches per epoch, 64 to 1024)
    valid_pct:float=0.2, # Share of the rows held out for early stopping
    patience:int=None, # Epochs without improvement before stopping (default: fit_autoencoder's, 8)
    code_act:str=None, # 'relu': a rectified code, which tree models downstream split more easily (default: a linear code)
    seed:int=0, # Seed of the split, the initial weights and the noise
    article:bool=False, # The article's settings (`tabae.ARTICLE_RECIPE`) instead of the recommended recipe; the options above still apply
    kw:str=None, # More `fit_autoencoder`/`ae_learner` arguments as a JSON object, e.g. '{"input_skip": false, "swap_p": 0.2}'
    quiet:bool=False, # No progress bar or training table
):
    "Fit a denoising autoencoder on TRAIN and save it to --out; under torchrun or accelerate launch, data-parallel over the processes, each of which then exits (scripts call `fit_distributed`)."
    from fastai.distributed import teardown_distrib
    from fastai.torch_core import num_distrib, rank_distrib
    from .datasets import read_table
    from .distributed import fit_distributed
    from .fit import ARTICLE_RECIPE
    from .persist import save_encoder
    from .validate import check_columns, infer_columns
    extra = _json_kw(kw)  # before reading TRAIN, which may be large
    with _out_dir(out) as out:
        df = read_table(train)
        drop = _cols(drop, '--drop') or []
        check_columns(df, drop, '--drop')
        cats, conts = infer_columns(df.drop(columns=drop), _cols(cat, '--cat'), _cols(cont, '--cont'), max_card=max_card)
        given = {k: v for k, v in dict(layers=layers and list(layers), epochs=epochs, lr=lr, bs=bs, patience=patience, code_act=code_act).items() if v is not None}
        kw = {**(ARTICLE_RECIPE if article else {}), **extra, **given}
        learn = fit_distributed(df, cats, conts, code_size=code_size, valid_pct=valid_pct, seed=seed, progress=not quiet, **kw)
    teardown_distrib()
    if not rank_distrib():
        path = save_encoder(learn, out)
        losses = [v[1] for v in learn.recorder.values if v[1] is not None]
        best = f", best valid_loss {min(losses):.4f}" if losses else ''
        procs = f" in {num_distrib()} processes" if num_distrib() > 1 else ''
        print(f"Saved the encoder to {path}: {len(cats)} categorical and {len(conts)} continuous columns -> {code_size}-feature codes "
              f"({len(learn.recorder.values)} epoch(s){procs}{best})")
    if num_distrib() > 1:  # a launched process ends here: in the interpreter's teardown one sometimes aborted (SIGABRT, no Python frame left) after a good fit
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(0)

@call_parse
def encode(
    model:str, # Directory saved by `tabae fit`
    data:str, # Table to encode: .csv (optionally compressed; `?` reads as missing) or .parquet
    Output:Annotated[str, "Parquet file to write the codes to", {'required': True}]=None,
    keep:Annotated[str, "Columns of DATA to write beside the codes, such as an id or the target", {'nargs': '*'}]=None,
    chunk_size:int=65536, # Rows read, encoded and written at a time: this bounds the memory
    bs:int=4096, # Batch size of the model
    quiet:bool=False, # No progress bar
):
    "Encode DATA in chunks to a parquet file of codes (`ae_0 ...`, one row per row of DATA, in order)."
    import pandas as pd, pyarrow as pa, pyarrow.parquet as pq
    from .encode import encode as encode_frame
    from .errors import UnseenCategoryWarning, _warn_unseen
    from .persist import load_encoder
    from .validate import _InputShift, user_columns
    if not str(Output).endswith('.parquet'): raise CliError(f"--output must be a .parquet file, got {Output}")
    _writable_file(Output, '--output')
    learn = load_encoder(model)
    keep = _cols(keep, '--keep') or []
    cats, conts = user_columns(learn.dls.train_ds)
    columns = list(dict.fromkeys(keep + cats + conts))
    writer, n, unseen, examples = None, 0, Counter(), {}
    try:
        with warnings.catch_warnings(record=True) as caught:  # one unseen-category warning for the file, not one per chunk
            warnings.simplefilter('always', UnseenCategoryWarning)
            with _InputShift.shared(learn):  # one input-shift warning for the file, counted over all its rows
                for chunk in _with_progress(iter_table(data, chunk_size, columns), _table_rows(data), not quiet):
                    if not len(chunk): continue  # a CSV of a header alone reads as one empty chunk: no rows, as an empty parquet
                    codes = encode_frame(learn, chunk, bs=bs, progress=False)
                    table = pa.Table.from_pandas(pd.concat([chunk[keep], codes], axis=1), preserve_index=False)
                    if writer is None: writer = pq.ParquetWriter(Output, table.schema)
                    try: writer.write_table(table if table.schema == writer.schema else table.cast(writer.schema))
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
                        raise CliError(f"The --keep columns change type between chunks of {data} ({e}): use a larger --chunk-size or a parquet file")
                    n += len(chunk)
    except BaseException:
        if writer is not None: writer.close(); Path(Output).unlink(missing_ok=True)  # no half-written output left behind
        raise
    if writer is not None: writer.close()
    for w in caught:
        if isinstance(w.message, UnseenCategoryWarning): unseen.update(w.message.counts); examples = {**w.message.examples, **examples}  # the first chunk's first
        else: warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    _warn_unseen(dict(unseen), examples)
    if writer is None: raise CliError(f"{data} has no rows to encode")
    print(f"Wrote the {learn.model.code_size}-feature codes of {n} rows to {Output}")

@call_parse
def report(
    model:str, # Directory saved by `tabae fit`
    data:str, # Table to evaluate on: .csv (optionally compressed; `?` reads as missing) or .parquet
    plot:str=None, # Save the plots (predicted vs actual, confusion matrices; of a table of more than 24 columns, the 24 rebuilt worst) to this image file: .png, .pdf, .svg
    bs:int=4096, # Batch size of the model
):
    "Print how faithfully each column of DATA is rebuilt: R2, absolute errors and values beyond what the model can output per continuous column, balanced accuracy and F1 per categorical one."
    from .datasets import read_table
    from .evaluate import evaluate
    from .persist import load_encoder
    if plot:  # checked before the evaluation, not after it: its kind, and that it can be written
        from matplotlib.figure import Figure
        if Path(plot).suffix.lstrip('.').lower() not in (kinds := Figure().canvas.get_supported_filetypes()):
            raise CliError(f"--plot must name an image file of a kind matplotlib writes ({', '.join('.' + k for k in kinds)}), got {plot}")
        _writable_file(plot, '--plot')
    rep = evaluate(load_encoder(model), read_table(data), bs=bs)
    print(rep)
    if plot:
        import matplotlib.pyplot as plt
        rep.plot()
        plt.savefig(plot, dpi=120); plt.close()
        print(f"\nSaved the plots to {plot}")

@call_parse
def demo(
    csv:str=None, # A CSV to run on instead of the bundled Adult data
    quick:bool=False, # A short setting (for tests and CI)
):
    "Run the article end to end on the Adult data: fit, report on held-out rows, downstream accuracy on codes vs raw."
    from .demo import run_demo
    run_demo(csv=csv, quick=quick)

_OPTIONS = {"convert them, e.g. `pd.to_numeric(df[col].str.rstrip('%'), errors='coerce')`, and pass them in `cont_names`": 'write them to the file as plain numbers and pass them with --cont',
            'Leave them out of `cat_names`/`cont_names`': 'Leave them out with --drop (or out of --cat/--cont)', '`rank_gauss=True`': "--kw '{\"rank_gauss\": true}'",
            'convert it with `pd.to_numeric`': 'correct them in the file (an empty cell is missing)', " (`errors='coerce'` makes them missing)": '',
            "keep the words, e.g. `read_csv(..., keep_default_na=False, na_values=['', '?'])`, or use parquet": 'give them as parquet, which keeps the words',
            'cat_names/cont_names': '--cat/--cont', '`cat_names`': '--cat', '`cont_names`': '--cont', 'must be None (': 'must be left out ('}  # library terms -> CLI terms, the longest first

def _in_cli_terms(e:Exception|Warning|str, cmd) -> str:
    "`e`'s message (an error's or a warning's) with the library's argument names written as `cmd`'s options (`code_size` as --code-size)."
    msg = f"No such file or directory: {e.filename or e}" if isinstance(e, FileNotFoundError) else str(e)  # one wording for every reader: pyarrow's says only the path, Python's "[Errno 2] ..."
    for py, opt in _OPTIONS.items(): msg = msg.replace(py, opt)
    msg = re.sub(r"take its ranks, `df\[(.*?)\]\.cat\.codes\.where\(df\[\1\]\.notna\(\)\)`", "write its ranks (0, 1, ...) to the file", msg)  # an ordered categorical given as a number
    for n, p in inspect.signature(cmd.__wrapped__).parameters.items():
        if p.default is not inspect.Parameter.empty: msg = msg.replace(f'`{n}`', f"--{n.replace('_', '-')}")
    return msg

_COMMANDS = {'fit': fit, 'encode': encode, 'report': report, 'demo': demo}

def _usage() -> str:
    cmds = '\n'.join(f"  {k:<8}{f.__doc__.split(';')[0].split(':')[0].rstrip('.')}" for k, f in _COMMANDS.items())
    return f"usage: tabae {{{','.join(_COMMANDS)}}} ...\n\ncommands:\n{cmds}\n\n`tabae COMMAND --help` describes each."

def _stdout_closed() -> bool:
    "Whether standard output is a pipe whose reader has gone away (a broken pipe from anything else is an error to report)."
    import select
    try:
        p = select.poll()
        p.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in p.poll(0))
    except (AttributeError, ValueError, OSError): return False  # no `poll` (Windows), or no file descriptor

def main(argv:list=None) -> int:
    "Dispatch `tabae COMMAND ...` to the command's own parser; errors in the input are one line on stderr and exit status 1."
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in _COMMANDS:
        if argv and argv[0] in ('-h', '--help'): print(_usage()); return 0
        print(_usage() + (f"\n\ntabae: error: unknown command {argv[0]!r}" if argv else ''), file=sys.stderr)
        return 2
    name, cmd, old, fmt = argv[0], _COMMANDS[argv[0]], sys.argv, warnings.formatwarning
    sys.argv = [f'tabae {name}'] + argv[1:]
    warnings.formatwarning = lambda msg, cat, *_, **__: f"tabae {name}: {cat.__name__}: {_in_cli_terms(msg, cmd)}\n"  # no file and line (they name the `tabae` script, not the user's); options, not arguments
    try:
        pargs, kwargs, _ = parse_cli(cmd.__wrapped__)
        res = cmd(*pargs, **kwargs)
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback through fastai (a fit's `--out` is removed again)
        print(f"tabae {name}: interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, OSError) as e:
        if isinstance(e, BrokenPipeError) and _stdout_closed():  # the reader went away (`tabae report ... | head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the interpreter's last flush cannot fail again
            return 1
        raise SystemExit(f"tabae {name}: error: {_in_cli_terms(e, cmd)}")
    finally: sys.argv, warnings.formatwarning = old, fmt
    return res if isinstance(res, int) else 0
