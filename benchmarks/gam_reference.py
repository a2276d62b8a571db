"""Hand-made features for AdultBench's linear probe: one-hot categoricals plus a per-column basis of each number; prints JSON.

python benchmarks/gam_reference.py
What a linear model reaches when every column gets its own nonlinear features (an additive model), to put
the linear-probe floors of issue 4 in context: 16-quantile bins (one-hot) or cubic splines (8 uniform knots).
"""
import json
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, SplineTransformer, StandardScaler
from adultbench import load
from tabae import ADULT_TARGET, adult_columns

BASES = {'bins16': lambda: KBinsDiscretizer(16, encode='onehot', strategy='quantile'),
         'spline8': lambda: make_pipeline(SplineTransformer(n_knots=8), StandardScaler())}

if __name__ == '__main__':
    tr, te = load()
    for columns in ('adult-9', 'adult-14'):
        cats, conts = adult_columns(columns)
        Xtr, Xte = (d[cats + conts].astype({c: str for c in cats}) for d in (tr, te))
        for name, basis in BASES.items():
            m = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown='ignore'), cats),
                                                      (make_pipeline(SimpleImputer(strategy='median'), basis()), conts)),
                              LogisticRegression(max_iter=3000)).fit(Xtr, tr[ADULT_TARGET])
            print(json.dumps(dict(columns=columns, basis=name, accuracy=round((m.predict(Xte) == te[ADULT_TARGET]).mean(), 4))), flush=True)
