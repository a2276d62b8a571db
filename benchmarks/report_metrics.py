"""Time `AEReport`'s categorical scores on many rows against scikit-learn on the text labels (what it did before), in one run; prints JSON.

`python benchmarks/report_metrics.py [--rows N] [--classes K] [--columns C]`
"""
import argparse, json, platform, time, warnings
import numpy as np, pandas as pd, torch
from sklearn.metrics import balanced_accuracy_score, f1_score
from tabae import AEReport

def main(rows:int, classes:int, columns:int):
    rng = np.random.default_rng(0)
    names = [f'c{j}' for j in range(columns)]
    actual = pd.DataFrame({c: rng.choice([f'v{i}' for i in range(classes)], rows).astype(object) for c in names})
    predicted = actual.apply(lambda s: s.where(rng.random(rows) > 0.1, 'v0'))
    t = time.perf_counter()
    rep = AEReport(actual, predicted, names, [])
    report_s = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        text = [[balanced_accuracy_score(actual[c], predicted[c]), f1_score(actual[c], predicted[c], average='weighted')] for c in names]
    text_s = time.perf_counter() - t
    print(json.dumps({'rows': rows, 'classes': classes, 'columns': columns, 'report_s': round(report_s, 3), 'sklearn_on_text_s': round(text_s, 3),
                      'speedup': round(text_s / report_s, 1), 'same_scores': rep.categorical.values.tolist() == text,
                      'machine': f"{platform.machine()} {torch.get_num_threads()} threads"}))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rows', type=int, default=200_000); p.add_argument('--classes', type=int, default=300); p.add_argument('--columns', type=int, default=14)
    main(**vars(p.parse_args()))
