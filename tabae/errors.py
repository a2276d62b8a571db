"""What tabae raises and warns about: `TabaeInputError`, `FitInterrupted`, `UnseenCategoryWarning`, `UninformativeColumnWarning`, `ManyClassesWarning`, `ExtremeValueWarning`, `InputShiftWarning` and `NumbersAsTextWarning`."""
from __future__ import annotations
import sys, warnings

__all__ = ['TabaeInputError', 'FitInterrupted', 'UnseenCategoryWarning', 'UninformativeColumnWarning', 'ManyClassesWarning', 'ExtremeValueWarning', 'InputShiftWarning', 'NumbersAsTextWarning']

class TabaeInputError(ValueError):
    "A DataFrame or argument that tabae cannot use, with what was expected."

class FitInterrupted(KeyboardInterrupt):
    "A Ctrl-C during `fit_autoencoder`, which would otherwise lose the learner it was training: `learn` holds it (with the best weights so far once they are tracked)."
    def __init__(self, msg:str, learn):
        super().__init__(msg)
        self.learn = learn

class UnseenCategoryWarning(UserWarning):
    "Categorical values that training never saw, encoded as '#na#'; `counts` maps each column to its number of such rows, `examples` to a few of those values."
    def __init__(self, msg:str, counts:dict, examples:dict|None=None):
        super().__init__(msg)
        self.counts, self.examples = counts, examples or {}
    def __reduce__(self): return type(self), (str(self), self.counts, self.examples)  # picklable, e.g. raised as an error in a worker process

class _ColumnsWarning(UserWarning):
    "A warning about training columns; `columns` maps each column to what was found."
    def __init__(self, msg:str, columns:dict):
        super().__init__(msg)
        self.columns = columns
    def __reduce__(self): return type(self), (str(self), self.columns)

class UninformativeColumnWarning(_ColumnsWarning):
    "Training columns the code can learn nothing lasting from (one value in every training row, a different category in each or nearly each, or dates as categories); `columns` maps each column to why."

class ManyClassesWarning(_ColumnsWarning):
    "Categorical training columns with so many classes that their rebuild (one logit per class per row) dominates the model's size and time; `columns` maps each column to its class count."

class ExtremeValueWarning(_ColumnsWarning):
    "Continuous training columns with a value so far from the rest that it sets the column's scale and range; `columns` maps each column to that value and how far out it is."

class NumbersAsTextWarning(_ColumnsWarning):
    "Categorical training columns of many classes that are nearly all numbers held as text ('12%', '1,200', '700' beside 'N/A'): each a class, their order lost; `columns` maps each column to what was found."

class InputShiftWarning(_ColumnsWarning):
    "Columns of rows to encode unlike their training values (missing in every row, mostly outside the training range, or missing where a training class is a word `read_csv` reads as missing); `columns` maps each column to what was found."

_LIBRARIES = {'tabae', 'fastai', 'fastcore', 'fasttransform', 'sklearn', 'joblib'}  # frames a warning looks past: a pipeline's fit, or a cross-validation's, is the user's line

def _caller_level() -> int:
    "The `stacklevel` that makes a warning issued by this function's caller name the first line outside tabae, fastai, scikit-learn and joblib: the user's call."
    f, level = sys._getframe(1), 1
    while f.f_back is not None and f.f_globals.get('__name__', '').split('.')[0] in _LIBRARIES: f, level = f.f_back, level + 1
    return level

_DETAILED, _NAMED = 5, 20  # columns a message describes, then names only: a wide table's 400 columns made 30,000-character messages

def _some(items:list, n:int=_NAMED) -> str:
    "The first `n` of `items` as a list, and how many more there are: \"['a', 'b'] and 380 more\"."
    return f"{list(items)[:n]}" + (f" and {len(items) - n} more" if len(items) > n else "")

def _short(name, n:int=28) -> str:
    "`name` as text of at most `n` characters, cut with '…'."
    return s if len(s := str(name)) <= n else s[:n - 1] + '…'

def _shortened(values:list, n:int=40) -> list:
    "`values` with text cut to `n` characters (`_short`), for a message: free text made warnings of 18,000 characters."
    return [_short(v, n) if isinstance(v, str) else v for v in values]

def _warn_unseen(counts:dict, examples:dict|None=None):
    "One warning naming each column with unseen categories, counting its rows, with a few of the values (`examples`, per column)."
    if not counts: return
    examples = examples or {}
    msg = ', '.join(f"column {c!r} in {n} row(s)" + (f" (such as {examples[c]})" if examples.get(c) else "") for c, n in list(counts.items())[:_NAMED])
    if len(counts) > _NAMED: msg += f" and {len(counts) - _NAMED} more columns (the warning's `counts` has them all)"
    warnings.warn(UnseenCategoryWarning(f"Categories never seen in training (no training row has them; a class held only by validation rows counts) are encoded as '#na#': {msg}", counts, examples), stacklevel=_caller_level())
