"""How faithfully each column is rebuilt: `evaluate` and its `AEReport`."""
from __future__ import annotations
import html, re, warnings
from fastai.tabular.all import *
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, r2_score
from .encode import reconstruct
from .errors import TabaeInputError, _short, _some
from .process import _ClassIndex, _decoded
from .validate import _NA, _check_positive_int, _cont_column, _is_positive, _listify, _missing_share, _tolerance, check_frame, clean_encode_frame, user_columns

__all__ = ['AEReport', 'evaluate', 'output_range']

_OUT_NOTE = "out_of_range: how many rows hold an actual value the model cannot output (outside `output_range`: the training range)\n"

def _labels(s:pd.Series) -> pd.Series: return s.astype(object).where(s.notna(), _NA).astype(str)

class AEReport:
    "Per-column reconstruction quality: `.continuous` (absolute errors, R2, `out_of_range`), `.categorical` (a missing category scored as the class '#na#'), `.summary`, `.plot()`."
    # Missing or infinite actual numbers are left out; R2 is NaN where the actual values are constant or missing, and `mean_r2` averages the others (the report says which).
    # `unseen`: per categorical column, `(rows, classes)` of actual classes training never saw (gaps too, where training had none), which no rebuild can equal (the report says which).
    def __init__(self, actual:pd.DataFrame, predicted:pd.DataFrame, cat_names:list, cont_names:list, output_range:pd.DataFrame|None=None, unseen:dict|None=None):
        store_attr()
        self.continuous = pd.DataFrame([self._cont(c) for c in cont_names], index=pd.Index(cont_names, name='column'),
                                       columns=['min_abs_err', 'max_abs_err', 'mean_abs_err', 'median_abs_err', 'r2', 'out_of_range'])
        self.categorical = pd.DataFrame([self._cat(c) for c in cat_names], index=pd.Index(cat_names, name='column'),
                                        columns=['balanced_accuracy', 'f1_weighted'])
        self.summary = pd.Series({'mean_r2': self.continuous.r2.mean(), 'mean_balanced_accuracy': self.categorical.balanced_accuracy.mean(),
                                  'mean_f1_weighted': self.categorical.f1_weighted.mean(), 'rows': len(actual)}, name='summary')

    def _cont(self, c):
        y, p = self.actual[c].astype(np.float64), self.predicted[c].astype(np.float64)
        ok = np.isfinite(y)
        y, p = y[ok], p[ok]
        out = np.nan if self.output_range is None else self._out_of_range(y, *self.output_range.loc[c, ['min', 'max']])
        if not len(y): return [np.nan] * 5 + [out]
        err = (y - p).abs()
        r2 = r2_score(y, p) if len(y) > 1 and y.nunique() > 1 else np.nan
        return [err.min(), err.max(), err.mean(), err.median(), r2, out]

    @staticmethod
    def _out_of_range(y:pd.Series, lo:float, hi:float) -> int:
        "How many of `y` lie outside `[lo, hi]` (what the model can output), by more than float32 rounding (`_tolerance`: a column constant in training has no range)."
        tol = _tolerance(lo, hi)
        return int(((y < lo - tol) | (y > hi + tol)).sum())

    def _cat(self, c):
        y, p = _labels(self.actual[c]), _labels(self.predicted[c])
        codes = pd.factorize(pd.concat([y, p], ignore_index=True), sort=True)[0]  # integers in the text labels' order, hashed once: scikit-learn sorted the text some 19 times per column
        y, p = codes[:len(y)], codes[len(y):]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return [balanced_accuracy_score(y, p), f1_score(y, p, average='weighted')]

    def _shown(self) -> pd.Series:
        "The summary without the row count and without the means of a kind of column the table does not have."
        return self.summary.drop(['rows'] + (['mean_r2'] if not self.cont_names else []) + (['mean_balanced_accuracy', 'mean_f1_weighted'] if not self.cat_names else []))

    def _title(self) -> str: return f"AEReport on {len(self.actual):,} row{'s' * (len(self.actual) != 1)}"

    def _note(self) -> str:
        "What the continuous table's reader needs: which columns `mean_r2` leaves out, and what `out_of_range` counts."
        undefined = self.continuous.index[self.continuous.r2.isna()].tolist()
        r2 = (f"mean_r2: the mean over {len(self.continuous) - len(undefined)} of {len(self.continuous)} columns; R2 is undefined for {_some(undefined, 10)} "
              f"(constant or missing in these rows)\n") if undefined else ""
        return r2 + ("" if self.output_range is None or not len(self.continuous) else _OUT_NOTE)

    def _cat_note(self) -> str:
        "Which categorical columns hold classes training never saw: rebuilt as none of them, each such class a miss in balanced accuracy."
        if not (cols := {c: v for c, v in (self.unseen or {}).items() if v[0]}): return ""
        said = '; '.join(f"{c!r} {n:,} row(s) of {k} class(es)" for c, (n, k) in list(cols.items())[:10]) + (f"; and {len(cols) - 10} more columns" if len(cols) > 10 else "")
        return f"classes training never saw, which no rebuild can equal (each counts in balanced_accuracy with no row right; a gap is one where no training row had one): {said}\n"

    def __repr__(self):
        table = lambda d, kind, fmt: d.to_string(float_format=fmt, max_rows=pd.get_option('display.max_rows')) if len(d) else f"(no {kind} columns)"
        return (f"{self._title()}\n\nsummary\n{self._shown().to_string()}\n\n"
                f"continuous\n{table(self.continuous, 'continuous', _num)}\n{self._note()}\ncategorical\n{table(self.categorical, 'categorical', '{:.4f}'.format)}\n{self._cat_note()}")

    def _repr_html_(self):
        table = lambda d, kind, fmt: d.to_html(float_format=fmt, max_rows=pd.get_option('display.max_rows')) if len(d) else f"<p>(no {kind} columns)</p>"
        note = lambda s: "<p><small>" + re.sub(r'`([^`]*)`', r'<code>\1</code>', html.escape(s)).replace('\n', '<br>') + "</small></p>" if s else ""
        return (f"<h4>{self._title()}</h4>{self._shown().to_frame().T.to_html(float_format='%.4f')}"
                f"<h5>continuous</h5>{table(self.continuous, 'continuous', _num)}{note(self._note())}"
                f"<h5>categorical</h5>{table(self.categorical, 'categorical', '%.4f')}{note(self._cat_note())}")

    def plot(self, max_classes:int=20, ncols:int=3, size:float=3.5, columns:list|None=None) -> None:
        "Predicted vs actual per continuous column and a confusion matrix (shares of each actual class, its `max_classes` most frequent) per categorical one, in a new figure; of a wide table the 24 rebuilt worst unless `columns`."
        # As fastai's plots: no return value, so Jupyter shows the figure once, with or without a `;`, and `plt.savefig` saves it.
        import matplotlib.pyplot as plt
        _check_positive_int('max_classes', max_classes); _check_positive_int('ncols', ncols)
        if not _is_positive(size): raise TabaeInputError(f"`size` must be a positive number of inches per panel, got {size!r}")
        cols, title = self._panels(columns)
        ncols = min(ncols, max(len(cols), 1))  # no empty panels beside one or two columns
        nrows = max(1, -(-len(cols) // ncols))
        fig, axs = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
        if title: fig.suptitle(title, fontsize=10)
        for ax, c in zip(axs.flat, cols):
            if c in self.cont_names: self._plot_cont(ax, c)
            else: self._plot_cat(ax, c, max_classes)
        for ax in list(axs.flat)[len(cols):]: ax.axis('off')
        plt.tight_layout()

    def _panels(self, columns:list|None) -> tuple[list, str]:
        "The columns `plot` draws, and a title when it leaves some out: `columns` (checked), else all, or the `_MAX_PANELS` with the lowest R2 or chance-adjusted balanced accuracy (0 at chance, as R2 is 0 for the mean)."
        every = self.cont_names + self.cat_names
        if columns is not None:
            columns = _listify(columns)
            if bad := [c for c in columns if c not in every]: raise TabaeInputError(f"`columns` {_some(bad)} are not columns of this report (it has {_some(every)})")
            return list(dict.fromkeys(columns)), ""
        if len(every) <= _MAX_PANELS: return every, ""
        chance = pd.Series({c: 1 / max(_labels(self.actual[c]).nunique(), 1) for c in self.cat_names}, dtype=np.float64)
        adjusted = (self.categorical.balanced_accuracy - chance) / (1 - chance).where(chance < 1)  # scikit-learn's `adjusted=True`
        worst = pd.concat([self.continuous.r2, adjusted]).sort_values(na_position='last').index[:_MAX_PANELS]
        return [c for c in every if c in set(worst)], f"the {_MAX_PANELS} of {len(every)} columns rebuilt worst (lowest R2 or chance-adjusted balanced accuracy); `plot(columns=...)` draws others"

    def _plot_cont(self, ax, c):
        from matplotlib.ticker import FuncFormatter, MaxNLocator
        y, p = self.actual[c].astype(np.float64), self.predicted[c].astype(np.float64)
        ax.scatter(y, p, s=2, alpha=0.3)
        lo, hi = np.nanmin(y), np.nanmax(y)
        ax.plot([lo, hi], [lo, hi], 'r--', lw=1)
        for axis in (ax.xaxis, ax.yaxis): axis.set_major_locator(MaxNLocator(4)); axis.set_major_formatter(FuncFormatter(_tick))  # 200k, not 200000 run into its neighbours
        r2 = self.continuous.loc[c, 'r2']
        ax.set_title(f"{_short(c)}\n" + (f"R2={r2:.3f}" if np.isfinite(r2) else "R2 undefined (constant)"), fontsize=9)
        ax.set(xlabel='actual', ylabel='reconstructed')

    def _plot_cat(self, ax, c, max_classes):
        y, p = _labels(self.actual[c]), _labels(self.predicted[c])
        counts = y.value_counts()
        labels = counts.index[:max_classes].tolist()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # scikit-learn's 'a single label was found' for a column of one class
            cm = confusion_matrix(y, p, labels=labels).astype(np.float64)
        cm = cm / np.maximum(counts[labels].to_numpy()[:, None], 1)  # of all rows of each class: rebuilt as a class not shown too
        ax.imshow(cm, vmin=0, vmax=1, cmap='Blues')
        ax.set_xticks(range(len(labels)), [_short(o, 16) for o in labels], rotation=90, fontsize=6)
        ax.set_yticks(range(len(labels)), [_short(o[:-len(_UNSEEN)], 15) + '*' if o.endswith(_UNSEEN) else _short(o, 16) for o in labels], fontsize=6)
        shown = f", {len(labels)} of {len(counts)} classes" if len(labels) < len(counts) else ""
        ax.set_title(f"{_short(c)}\nbal.acc={self.categorical.loc[c, 'balanced_accuracy']:.3f}{shown}", fontsize=9)
        ax.set(xlabel='reconstructed', ylabel='actual' + (' (* unseen in training)' if any(o.endswith(_UNSEEN) for o in labels) else ''))

_MAX_PANELS = 24  # panels `AEReport.plot` draws unless told which: 400 made a figure 300 inches tall that took 45 s to draw and save

def _num(v:float) -> str: return f'{v:,.0f}' if abs(v) >= 1e3 else f'{v:.4g}'  # 26,970 beside 2,096, not 2.697e+04 beside 2096

def _tick(v:float, pos=None) -> str:
    "A tick label: thousands and millions as 200k and 1.5M, smaller numbers as they are (0.3, not 300m)."
    return f'{v / 1e6:g}M' if abs(v) >= 1e6 else f'{v / 1e3:g}k' if abs(v) >= 1e4 else f'{v:g}'

def evaluate(learn:Learner, df:pd.DataFrame, bs:int=4096) -> AEReport:
    "Reconstruct `df` and report R2, absolute errors (original units) and how many values the model cannot output (`output_range`) per continuous column, balanced accuracy and weighted F1 per categorical one."
    check_frame(df, 1, '`evaluate`')
    cats, conts = user_columns(learn.dls.train_ds)
    pred = reconstruct(learn, df, bs=bs)
    actual, unseen = _actual(learn.dls.train_ds, df)
    return AEReport(actual, pred, cats, conts, output_range(learn), unseen)

def output_range(learn:Learner) -> pd.DataFrame:
    "Each continuous column's smallest and largest value the model outputs in eval mode, in original units (`min`, `max`): the training range (the head's bounds, for models saved before they were narrowed to it), decoded through the procs."
    to = learn.dls.train_ds
    bounds = dict(zip(to.cont_names, torch.stack(get_model(learn.model).cont_head[-1].data_range(), 1).float().cpu().numpy()))
    frame = pd.DataFrame({c: bounds.get(c, [0, 0]) for c in to.x_names})  # categories: any code
    return _decoded(to, frame)[list(to.cont_names)].T.set_axis(['min', 'max'], axis=1)

_UNSEEN = ' (unseen)'

def _actual(to:Tabular, df:pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    "`df`'s training columns as `reconstruct` gives them: a category that matches a training class by value (as `encode` matches it; 1.0 and '1' for 1) as that class, one that matches none as '<value> (unseen)' (no rebuild equals it), numbers as float64; with `{column: (rows, classes)}` of the unseen ones (gaps as one class where the training rows had none)."
    cats, conts = user_columns(to)
    clean, index, res, unseen = clean_encode_frame(df, to), _ClassIndex(to), df[cats + conts].copy(), {}
    for c in cats:
        if c not in index.dtypes: continue
        codes = index.codes(clean[c], c)
        res[c] = index.classes_of(clean[c], c, df[c].map(lambda v: f'{v}{_UNSEEN}', na_action='ignore').to_numpy(dtype=object), codes)
        new = clean[c][(codes < 0) & clean[c].notna().to_numpy()]
        gaps = int(clean[c].isna().sum()) if _missing_share(to, c) == 0 else 0  # '#na#', a class the model never rebuilt in training (unknown for a learner without rows)
        unseen[c] = (len(new) + gaps, new.nunique() + (gaps > 0))
    for c in conts: res[c] = _cont_column(df[c], c, trained=True).to_numpy()
    return res, unseen
