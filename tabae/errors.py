"""What tabae raises and warns about input: `TabaeInputError` and `UnseenCategoryWarning`."""
from __future__ import annotations
import warnings

__all__ = ['TabaeInputError', 'UnseenCategoryWarning']

class TabaeInputError(ValueError):
    "A DataFrame or argument that tabae cannot use, with what was expected."

class UnseenCategoryWarning(UserWarning):
    "Categorical values that training never saw, encoded as '#na#'; `counts` maps each column to its number of such rows."
    def __init__(self, msg:str, counts:dict):
        super().__init__(msg)
        self.counts = counts
    def __reduce__(self): return type(self), (str(self), self.counts)  # picklable, e.g. raised as an error in a worker process

def _warn_unseen(counts:dict, stacklevel:int=3):
    "One warning naming each column with unseen categories and counting its rows."
    if not counts: return
    msg = ', '.join(f"column {c!r} in {n} row(s)" for c, n in counts.items())
    warnings.warn(UnseenCategoryWarning(f"Categories never seen in training are encoded as '#na#': {msg}", counts), stacklevel=stacklevel)
