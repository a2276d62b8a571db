"""`TabularAEEncoder`: the autoencoder as a scikit-learn transformer, for `Pipeline` and `ColumnTransformer`."""
from __future__ import annotations
import io
from fastai.tabular.all import *
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from .downstream import _code_cols
from .encode import decode_outputs, encode
from .fit import fit_autoencoder
from .model import _f32
from .validate import _listify, infer_columns  # infer_columns: also importable from here, where it lived before

__all__ = ['TabularAEEncoder']

def _decode(learn:Learner, codes:Tensor) -> pd.DataFrame:
    "The rows that the decoder of `learn.model` rebuilds from `codes`: labels and original units."
    model = learn.model
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return decode_outputs(learn, model.decode(codes.to(next(model.parameters()).device)))
    finally: model.train(was_training)

class TabularAEEncoder(TransformerMixin, BaseEstimator):
    "A scikit-learn transformer: `fit_autoencoder` on the rows of `X`, `transform` them to their codes, `inverse_transform` codes back to rows."
    def __init__(self,
        cat_names:list|None=None, # categorical columns; `None`: the non-numeric columns not in `cont_names`
        cont_names:list|None=None, # continuous columns; `None`: the numeric columns not in `cat_names`
        code_size:int=128, # size of the code: the number of output features
        layers:tuple=(1024, 512, 256), # encoder sizes; `fit_autoencoder`'s linear decoder maps the code to the first one
        epochs:int|None=None, # most epochs (early stopping may stop sooner); `None`: `fit_autoencoder`'s
        lr:float|None=None, # learning rate of `fit_flat_cos`; `None`: `fit_autoencoder`'s
        bs:int|None=None, # batch size; `None`: `fit_autoencoder`'s (16 or more batches per epoch, 64 to 1024)
        valid_pct:float=0.2, # share of the rows held out for early stopping
        patience:int|None=None, # epochs without improvement before stopping; `None`: `fit_autoencoder`'s
        seed:int|None=0, # seed of the split, the initial weights and the noise; `None`: unseeded
        fit_kwargs:dict|None=None, # more arguments of `fit_autoencoder` and `ae_learner` (`swap_p`, `ps`, `rank_gauss`, `code_act`, ...)
        progress:bool=False, # show fastai's progress bar and table while fitting
        max_card:int|None=None, # with `cat_names` inferred: integer columns of at most this many values are categorical (as fastai's `cont_cat_split`)
    ): store_attr()
    max_card = None  # encoders pickled before `max_card` existed unpickle with it

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = tags.input_tags.categorical = tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ['float32']
        return tags

    def _frame(self, X, reset:bool) -> pd.DataFrame:
        "`X` as a DataFrame checked against what `fit` saw as scikit-learn does; columns without string names become `x0, x1, ...`."
        if not isinstance(X, pd.DataFrame):  # a list of rows as objects: numpy would make every value of mixed rows text
            X = check_array(X if hasattr(X, 'dtype') else np.asarray(X, dtype=object), dtype=None, ensure_all_finite=False, ensure_min_samples=2 if reset else 1)
        elif reset and len(X) < 2: raise ValueError(f"TabularAEEncoder needs at least 2 rows to fit, got {len(X)} sample(s)")
        if not X.shape[1]: raise ValueError(f"Found a DataFrame with 0 feature(s) (shape={X.shape}) while at least one is required")
        validate_data(self, X, reset=reset, skip_check_array=True)
        names = self._names()
        return X.set_axis(names, axis=1) if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=names).infer_objects()

    def _names(self) -> list:
        "The names of the fitted input columns: `feature_names_in_`, else `x0, x1, ...`."
        return list(getattr(self, 'feature_names_in_', [f'x{i}' for i in range(self.n_features_in_)]))

    def fit(self, X:pd.DataFrame|np.ndarray, y=None) -> TabularAEEncoder:
        "Fit the autoencoder on the rows of `X` (a DataFrame, or an array whose columns become `x0, x1, ...`; `cat_names` may name them by either, an array's by position too); `y` is ignored."
        frame = self._frame(X, reset=True)
        alias = dict(zip(X.columns if isinstance(X, pd.DataFrame) else range(frame.shape[1]), frame.columns))  # the 0, 1, ... of `read_csv(header=None)` or an array's positions: x0, x1, ...
        names = [None if ns is None else [alias.get(c, c) for c in _listify(ns)] for ns in (self.cat_names, self.cont_names)]
        self.cat_names_, self.cont_names_ = infer_columns(frame, *names, max_card=self.max_card)
        given = {k: v for k, v in dict(epochs=self.epochs, lr=self.lr, patience=self.patience).items() if v is not None}
        kw = dict(code_size=self.code_size, layers=self.layers, valid_pct=self.valid_pct, seed=self.seed, bs=self.bs, progress=self.progress)
        learn = fit_autoencoder(frame, self.cat_names_, self.cont_names_, **{**kw, **given, **(self.fit_kwargs or {})})
        learn.dls, learn.opt = learn.dls.new_empty(), None  # keep the procs and the model, not the training rows or optimizer state
        self.learn_ = learn
        return self

    def transform(self, X:pd.DataFrame|np.ndarray) -> np.ndarray:
        "The codes of the rows of `X`, shape `(n_rows, code_size)`, float32."
        check_is_fitted(self)
        return encode(self.learn_, self._frame(X, reset=False), progress=False).to_numpy()

    def inverse_transform(self, X:np.ndarray|pd.DataFrame) -> pd.DataFrame:
        "The rows that the decoder rebuilds from the codes `X`: a DataFrame of the cat and cont columns in the order `fit` saw them, in labels and original units."
        check_is_fitted(self)
        codes = check_array(X, dtype=np.float32)
        if codes.shape[1] != self.learn_.model.code_size:
            raise ValueError(f"X has {codes.shape[1]} features, but TabularAEEncoder makes codes of {self.learn_.model.code_size}")
        res = _decode(self.learn_, _f32(codes))  # a copy: `check_array` may return the caller's read-only or reversed (negative-stride) array
        if isinstance(X, pd.DataFrame): res.index = X.index
        return res[[c for c in self._names() if c in res.columns]]

    def __getstate__(self) -> dict:
        "Pickle the fitted `Learner` through `torch.save`, so that its tensors can be mapped to another device when unpickled."
        state = self.__dict__.copy()
        if 'learn_' in state:
            buf = io.BytesIO()
            torch.save(state['learn_'], buf)
            state['learn_'] = buf.getvalue()
        return state

    def __setstate__(self, state:dict):
        "Unpickle an encoder fitted on any device: the model onto the GPU if there is one (as `load_encoder` does), everything else onto the CPU."
        if 'learn_' in state:
            state['learn_'] = torch.load(io.BytesIO(state['learn_']), map_location='cpu', weights_only=False)
            state['learn_'].model.to(default_device())
        self.__dict__.update(state)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        "The output column names, `ae_0 .. ae_{code_size-1}` as `encode` names them."
        check_is_fitted(self)
        if input_features is not None:
            if list(input_features) != list(getattr(self, 'feature_names_in_', input_features)): raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(f"input_features should have length equal to number of features ({self.n_features_in_}), got {len(input_features)}")
        return np.asarray(_code_cols(self.learn_), dtype=object)
