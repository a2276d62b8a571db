import re, warnings
import numpy as np
from tabae import adult_columns
from tabae.cli import main
from tabae.demo import demo_data, downstream_score, run_demo

EPOCH_ROW = re.compile(r'^\d+\s+[\d.]+\s+[\d.]+\s+-?[\d.]+\s+[\d.]+\s+\d\d:\d\d\s*$', re.M)

def lines(out:str) -> str: return out.replace('\r', '\n')  # fastprogress redraws its bars with carriage returns

def test_quick_demo_on_adult(capsys):
    res = run_demo(quick=True)
    out = lines(capsys.readouterr().out)
    assert '2,000 training rows, 1,000 held-out rows (adult_test)' in out
    assert re.search(r'^epoch\s+train_loss\s+valid_loss\s+recon_r2\s+cat_acc\s+time', out, re.M)  # fastai's table
    assert len(EPOCH_ROW.findall(out)) == len(res['learn'].recorder.values) >= 2
    assert repr(res['report']) in out and 'AEReport on 1,000 rows' in out
    assert all(c in out for cols in adult_columns('adult-9') for c in cols)
    for k, what in [('codes', 'the 128-d codes'), ('raw', 'the 9 raw columns')]:
        assert f"accuracy on {what}: {res['scores'][k]:.4f}" in out and 0.5 < res['scores'][k] <= 1
    assert res['report'].summary['rows'] == 1000 and np.isfinite(res['report'].summary['mean_r2'])

def test_demo_cli_on_a_csv(tmp_path, adult_df, capsys):
    "A file without a `salary` column: its last column is the target; an identifier column is left out."
    df = adult_df.iloc[:1500].drop(columns='salary').assign(id=[f'p{i}' for i in range(1500)], label=adult_df['salary'].iloc[:1500].to_numpy())
    df.to_csv(tmp_path / 'people.csv', index=False)
    assert main(['demo', '--csv', str(tmp_path / 'people.csv'), '--quick']) == 0
    out = lines(capsys.readouterr().out)
    assert '1,200 training rows, 300 held-out rows (a random 20%)' in out and "target: 'label'" in out
    assert 'AEReport on 300 rows' in out and len(re.findall(r'accuracy on the .*: 0\.\d{4}', out)) == 2
    assert "'id'" not in out

def test_demo_data(tmp_path, adult_df):
    train, valid, cats, conts, target = demo_data()
    assert (len(train), len(valid), target) == (32561, 16281, 'salary') and (cats, conts) == adult_columns('adult-9')
    df = adult_df.iloc[:500].assign(id=[f'p{i}' for i in range(500)], hours=lambda d: d['hours-per-week'].astype(float))
    df.loc[:9, 'salary'] = np.nan
    df.to_csv(tmp_path / 'a.csv', index=False)
    train, valid, cats, conts, target = demo_data(str(tmp_path / 'a.csv'))
    assert target == 'salary' and (len(train), len(valid)) == (392, 98)  # rows without a target are dropped
    assert not set(train.index) & set(valid.index)
    assert 'education-num' in cats and 'age' in conts and 'hours' in conts and 'salary' not in cats + conts
    assert 'id' not in cats + conts  # an identifier, one value per row
    assert demo_data(str(tmp_path / 'a.csv'), target='hours')[4] == 'hours'
    train, valid, *_ = demo_data(str(tmp_path / 'a.csv'), target='native-country')  # rare classes: some only in held-out rows
    assert set(valid['native-country']) <= set(train['native-country']) and 0 < len(valid) < 98 and len(train) == 392
    train, valid, *_ = demo_data(str(tmp_path / 'a.csv'), target='age')  # integer classes are classes, not a regression: held-out ones training lacks are left out too
    assert set(valid['age']) <= set(train['age']) and len(valid) < len(df) - len(train)

def test_downstream_score_regression(small_learn, adult_df, adult_test_df):
    "A float target is regressed: the score is an RMSE in the target's units."
    tr, va = (d.assign(years=d.age.astype(float)) for d in (adult_df.iloc[:800], adult_test_df.iloc[:200]))  # a copy of a column the encoder saw (a leak in real use): this test checks the score's units
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rmse = downstream_score(small_learn, tr, va, 'years', epochs=1)
    assert 0 < rmse < 3 * va['years'].std()

def test_demo_compares_codes_with_raw_columns(capsys, monkeypatch):
    "The demo's two downstream lines come from the codes and from the raw columns (`raw=True`), not the same score twice."
    import tabae.demo
    monkeypatch.setattr(tabae.demo, 'downstream_score', lambda *a, raw=False, **kw: 0.6 if raw else 0.7)
    res = run_demo(quick=True)
    out = capsys.readouterr().out
    assert res['scores'] == {'codes': 0.7, 'raw': 0.6} and 'the 128-d codes: 0.7000' in out and 'the 9 raw columns: 0.6000' in out
