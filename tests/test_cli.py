"""The `tabae` command line: fit/encode/report on real Adult files, chunked encoding, `--help`, and clear errors."""
import os, pickle, shutil, subprocess, sys, warnings
from functools import partial
import numpy as np, pandas as pd, pyarrow.parquet as pq, pytest, torch
from tabae import FitInterrupted, UnseenCategoryWarning, adult_columns, encode, fit_autoencoder, load_encoder, save_encoder
from tabae.cli import iter_table, main

CATS, CONTS = adult_columns('adult-9')
SMALL = ['--code-size', '8', '--layers', '32', '16', '--epochs', '1', '--bs', '256', '--quiet']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}

@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield

@pytest.fixture(scope='module')
def files(adult_df, adult_test_df, tmp_path_factory):
    "Adult training rows as CSV and parquet, held-out rows as both too."
    d = tmp_path_factory.mktemp('cli')
    adult_df.iloc[:1500].to_csv(d/'train.csv', index=False)
    adult_df.iloc[:1500].to_parquet(d/'train.parquet')
    test = adult_test_df.iloc[:1000]
    test.to_csv(d/'test.csv', index=False)
    test.to_parquet(d/'test.parquet', row_group_size=256)
    return d, test

@pytest.fixture(scope='module')
def model_dir(files):
    d, _ = files
    assert main(['fit', str(d/'train.csv'), '--cat', *CATS, '--cont', *CONTS, '--out', str(d/'model'), *SMALL]) == 0
    return d/'model'

def test_fit_saves_the_safe_format(model_dir, capsys):
    assert sorted(os.listdir(model_dir)) == ['model.safetensors', 'tabae.json']
    learn = load_encoder(model_dir)
    assert learn.model.code_size == 8 and list(learn.dls.train_ds.cat_names) == CATS

def test_fit_infers_columns_and_drops_the_target(files, capsys):
    d, _ = files
    assert main(['fit', str(d/'train.parquet'), '--drop', 'salary', '--out', str(d/'inferred'), '--code-act', 'relu', *SMALL]) == 0
    assert 'Saved the encoder to' in capsys.readouterr().out
    learn = load_encoder(d/'inferred')
    to = learn.dls.train_ds
    assert learn.model.code_act == 'relu'
    assert 'salary' not in to.cat_names and set(to.cont_names) == set(adult_columns('adult-14')[1])
    assert main(['fit', str(d/'train.parquet'), '--drop', 'salary', '--max-card', '20', '--out', str(d/'max_card'), *SMALL]) == 0
    to = load_encoder(d/'max_card').dls.train_ds
    assert 'education-num' in to.cat_names and set(to.cont_names) == set(adult_columns('adult-14')[1]) - {'education-num'}  # 16 values: a category

def test_fit_article_recipe_and_json_arguments(files, model_dir, capsys):
    "`--article` trains the article's model (mirrored decoder, no skip, no clipping, its dropout); `--kw` passes more arguments; named options win over both."
    d, _ = files
    m = lambda name: load_encoder(d/name).model
    assert main(['fit', str(d/'train.csv'), '--cat', *CATS, '--cont', *CONTS, '--out', str(d/'article'), '--article', *SMALL]) == 0
    art = m('article')
    assert (art.decoder_kind, art.input_skip, art.clip_inputs, art.bin_inputs, art.code_size) == ('mirror', False, False, False, 8)
    assert [l.out_features for l in art.layers.modules() if isinstance(l, torch.nn.Linear)] == [32, 16, 8]  # --layers over the article's 1024 512 256
    assert main(['fit', str(d/'train.csv'), '--cat', *CATS, '--cont', *CONTS, '--out', str(d/'kw'), '--kw', '{"input_skip": false, "bin_targets": 0}', *SMALL]) == 0
    kw, default = m('kw'), load_encoder(d/'model').model
    assert (kw.decoder_kind, kw.input_skip, kw.clip_inputs, kw.bin_inputs) == ('linear', False, True, False)
    assert (default.decoder_kind, default.input_skip, default.clip_inputs, default.bin_inputs) == ('linear', True, True, True)

@pytest.mark.parametrize('fmt', ['parquet', 'csv'])
def test_encode_streams_chunks_and_matches_encode(files, model_dir, fmt, tmp_path, capsys, monkeypatch):
    "Chunk by chunk (never more than `--chunk-size` rows in memory), the written codes are those of `encode` on the whole frame."
    d, test = files
    mod = sys.modules['tabae.encode']  # the module: `tabae.encode` is the function
    seen, real = [], mod.encode
    monkeypatch.setattr(mod, 'encode', lambda learn, df, **kw: seen.append(len(df)) or real(learn, df, **kw))
    out = tmp_path/'codes.parquet'
    assert main(['encode', str(model_dir), str(d/f'test.{fmt}'), '-o', str(out), '--keep', 'salary', '--chunk-size', '300', *(['--quiet'] if fmt == 'parquet' else [])]) == 0  # a CSV's bar has no total
    assert f'of 1000 rows to {out}' in capsys.readouterr().out
    assert max(seen) <= 300 and sum(seen) == 1000 and pq.ParquetFile(out).num_row_groups == len(seen) >= 4
    codes = pd.read_parquet(out)
    assert list(codes.columns) == ['salary'] + [f'ae_{i}' for i in range(8)]
    assert (codes.salary.to_numpy() == test.salary.to_numpy()).all()
    ref = encode(load_encoder(model_dir), test)
    np.testing.assert_allclose(codes[ref.columns].to_numpy(), ref.to_numpy(), rtol=1e-5, atol=1e-6)

def test_encode_codes_do_not_depend_on_the_chunk_size(tmp_path):
    "A text column whose chunk holds only digits and a gap (read by pandas as floats) is matched to its text classes: the same codes, and no unseen warning, for any `--chunk-size`."
    r = np.random.default_rng(0)
    train = pd.DataFrame({'code': r.choice(['1', '2', 'X'], 400), 'x': r.normal(size=400)})
    test = pd.DataFrame({'code': ['1', '2', '', '1'] * 50 + ['X', '2'] * 50, 'x': r.normal(size=300)})  # the first 200 rows: digits and gaps only
    train.to_csv(tmp_path/'train.csv', index=False); test.to_csv(tmp_path/'test.csv', index=False)
    assert main(['fit', str(tmp_path/'train.csv'), '--cat', 'code', '--cont', 'x', '--out', str(tmp_path/'m'), *SMALL]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter('error', UnseenCategoryWarning)
        for n in (100, 1000):
            assert main(['encode', str(tmp_path/'m'), str(tmp_path/'test.csv'), '-o', str(tmp_path/f'c{n}.parquet'), '--chunk-size', str(n), '--quiet']) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path/'c100.parquet'), pd.read_parquet(tmp_path/'c1000.parquet'))

def test_encode_warns_once_per_file_about_unseen_categories(files, model_dir, tmp_path):
    "Unseen categories spread over several chunks give one warning with the file's totals, not one per chunk."
    d, test = files
    odd = test.copy()
    odd.loc[odd.index[[0, 400, 900]], 'race'] = 'Martian'
    odd.loc[odd.index[[10, 700]], 'workclass'] = 'Astronaut'
    odd.to_csv(tmp_path/'odd.csv', index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert main(['encode', str(model_dir), str(tmp_path/'odd.csv'), '-o', str(tmp_path/'c.parquet'), '--chunk-size', '300', '--quiet']) == 0
    unseen = [w.message for w in caught if isinstance(w.message, UnseenCategoryWarning)]
    assert len(unseen) == 1 and unseen[0].counts == {'race': 3, 'workclass': 2} and unseen[0].examples == {'race': ['Martian'], 'workclass': ['Astronaut']}
    assert "column 'race' in 3 row(s) (such as ['Martian'])" in str(unseen[0]) and "column 'workclass' in 2 row(s) (such as ['Astronaut'])" in str(unseen[0])

@pytest.mark.parametrize('fmt', ['parquet', 'csv'])
def test_encode_error_names_file_rows_and_leaves_no_output(files, model_dir, fmt, tmp_path):
    "A bad value in a later chunk is reported with its row number in the file (parquet as CSV), and no half-written output stays."
    d, test = files
    bad = test.reset_index(drop=True).astype({'age': float})
    bad.loc[700, 'age'] = 1e300
    (bad.to_parquet if fmt == 'parquet' else partial(bad.to_csv, index=False))(tmp_path/f'bad.{fmt}')
    out = tmp_path/'codes.parquet'
    with pytest.raises(SystemExit, match=r"\['age'\] hold values past float32's range.*'age': \[700\]"):
        main(['encode', str(model_dir), str(tmp_path/f'bad.{fmt}'), '-o', str(out), '--chunk-size', '300', '--quiet'])
    assert not out.exists()

def test_unseen_category_warning_pickles():
    w = pickle.loads(pickle.dumps(UnseenCategoryWarning('msg', {'race': 3}, {'race': ['Martian']})))
    assert str(w) == 'msg' and w.counts == {'race': 3} and w.examples == {'race': ['Martian']}

@pytest.mark.parametrize('fmt', ['parquet', 'csv'])
def test_iter_table_reads_bounded_chunks(files, fmt):
    d, test = files
    chunks = list(iter_table(str(d/f'test.{fmt}'), 128, columns=['age', 'race']))
    assert max(map(len, chunks)) <= 128 and all(list(c.columns) == ['age', 'race'] for c in chunks)
    pd.testing.assert_frame_equal(pd.concat(chunks), test[['age', 'race']].reset_index(drop=True), check_dtype=False)  # row labels run on

def test_report_prints_and_saves_plots(files, model_dir, tmp_path, capsys):
    d, _ = files
    png = tmp_path/'report.png'
    assert main(['report', str(model_dir), str(d/'test.csv'), '--plot', str(png)]) == 0
    out = capsys.readouterr().out
    assert 'AEReport on 1,000 rows' in out or 'AEReport on 1000 rows' in out
    assert all(c in out for c in CATS + CONTS + ['mean_r2', 'balanced_accuracy']) and f'Saved the plots to {png}' in out
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

@pytest.mark.parametrize('argv,match', [
    (['fit', 'train.csv', '--cat', 'nope', '--out', 'm'], r"tabae fit: error: Column\(s\) \['nope'\] of --cat/--cont are missing"),
    (['fit', 'train.csv', '--cat', 'age', '--cont', 'age', '--out', 'm'], r"\['age'\] are in both --cat and --cont"),
    (['fit', 'train.csv', '--drop', 'nope', '--out', 'm'], r"\['nope'\] of --drop"),
    (['fit', 'missing.csv', '--out', 'm'], "tabae fit: error: No such file or directory: missing.csv$"),
    (['fit', 'missing.parquet', '--out', 'm'], "tabae fit: error: No such file or directory: missing.parquet"),  # pyarrow's message was the path alone
    (['fit', 'train.csv', '--code-act', 'gelu', '--out', 'm'], r"tabae fit: error: --code-act must be left out \(a linear code\) or one of \['relu'\], got 'gelu'"),
    (['fit', 'train.csv', '--code-size', '0', '--out', 'm'], "tabae fit: error: --code-size must be a positive int, got 0"),
    (['fit', 'train.csv', '--valid-pct', '1.5', '--out', 'm'], r"tabae fit: error: --valid-pct must be in \[0, 1\), got 1.5"),
    (['fit', 'train.csv', '--epochs', '0', '--out', 'm'], "tabae fit: error: --epochs must be a positive int, got 0"),
    (['fit', 'train.csv', '--kw', '{input_skip: false}', '--out', 'm'], r"--kw must be a JSON object such as .*Expecting property name"),
    (['fit', 'train.csv', '--kw', '[1, 2]', '--out', 'm'], r"--kw must be a JSON object \(argument names to values\), got list"),
    (['fit', 'train.csv', '--kw', '{"skip": true, "cbs": []}', '--out', 'm'], r"--kw names \['skip', 'cbs'\], which `tabae fit` cannot pass"),
    (['fit', 'train.csv', '--kw', '{"epochs": 3, "cat_names": ["age"]}', '--out', 'm'], r"--kw sets \['epochs', 'cat_names'\], .* use \['--epochs', '--cat'\]"),
    (['fit', 'train.csv', '--kw', '{"swap_p": 2}', '--out', 'm'], r"tabae fit: error: `swap_p` must be a probability in \[0, 1\]"),
    (['fit', 'missing.csv', '--out', 'train.csv'], r"tabae fit: error: --out must name a directory to save in, and train.csv is a file"),  # it failed after the fit
    (['fit', 'missing.csv', '--out', 'train.csv/m'], r"tabae fit: error: --out train.csv/m cannot be written: Not a directory"),
    (['encode', 'model', 'test.csv', '-o', 'train.csv/c.parquet'], r"tabae encode: error: --output train.csv/c.parquet cannot be written: Not a directory"),
    (['report', 'model', 'test.csv', '--plot', 'train.csv/r.png'], r"tabae report: error: --plot train.csv/r.png cannot be written: Not a directory"),  # it failed after the report
    (['encode', 'model', 'test.csv', '-o', 'codes.csv'], "--output must be a .parquet file"),
    (['encode', 'model', 'test.csv', '-o', 'c.parquet', '--keep', 'id'], r"test.csv lacks the column\(s\) \['id'\]"),
    (['encode', 'model', 'test.csv', '-o', 'c.parquet', '--chunk-size', '0'], "--chunk-size must be a positive"),
    (['encode', 'model', 'test.csv', '-o', 'c.parquet', '--keep', 'salary', 'salary'], r"--keep names a column twice: \['salary', 'salary'\]"),
    (['encode', 'train.csv', 'test.csv', '-o', 'c.parquet'], "is not a tabae encoder directory"),
    (['report', 'model', 'missing.csv'], "tabae report: error: No such file or directory: missing.csv$"),
    (['report', 'model', 'test.csv', '--plot', 'r.xyz'], r"tabae report: error: --plot must name an image file of a kind matplotlib writes \(.*\.png.*\), got r.xyz"),  # it failed after the report
])
def test_bad_input_is_one_clear_line(files, model_dir, argv, match, monkeypatch):
    d, _ = files
    monkeypatch.chdir(d)
    with pytest.raises(SystemExit, match=match): main(argv)
    assert warnings.formatwarning.__module__ == 'warnings'  # the command's format is put back

def test_an_output_file_that_is_a_directory_is_refused_first(files, model_dir, tmp_path, monkeypatch):
    "An output file named like a directory fails before the work (the report printed in full, then failed), and the directory is left as it was."
    d, _ = files
    monkeypatch.chdir(tmp_path)
    for name in ('plots.png', 'codes.parquet'): os.makedirs(name)
    with pytest.raises(SystemExit, match=r"tabae report: error: --plot must name a file, and plots.png is a directory"): main(['report', 'nope', 'nope.csv', '--plot', 'plots.png'])
    with pytest.raises(SystemExit, match=r"tabae encode: error: --output must name a file, and codes.parquet is a directory"): main(['encode', 'nope', 'nope.csv', '-o', 'codes.parquet'])
    assert sorted(os.listdir()) == ['codes.parquet', 'plots.png'] and not os.listdir('plots.png')

def test_fit_makes_its_output_directory_first_and_removes_it_if_the_fit_fails(files, tmp_path, monkeypatch):
    "`--out` is made before the fit, so an unwritable one fails at once; the directories made for it go again when the fit then fails."
    d, _ = files
    monkeypatch.chdir(tmp_path)
    made = []
    monkeypatch.setattr('tabae.distributed.fit_distributed', lambda *a, **k: made.append(os.path.isdir('new/deep/m')) or 1 / 0)
    with pytest.raises(ZeroDivisionError): main(['fit', str(d/'train.csv'), '--cat', *CATS, '--out', 'new/deep/m', *SMALL])
    assert made == [True] and not os.path.exists('new')
    with pytest.raises(ZeroDivisionError): main(['fit', str(d/'train.csv'), '--cat', *CATS, '--out', 'a/../b/m', *SMALL])
    assert not os.path.exists('a') and not os.path.exists('b')
    with pytest.raises(SystemExit, match=r"--out must name a directory to save in, got ''"): main(['fit', str(d/'train.csv'), '--out', ''])
    os.makedirs('old/m')  # a directory that was there stays
    with pytest.raises(ZeroDivisionError): main(['fit', str(d/'train.csv'), '--cat', *CATS, '--out', 'old/m', *SMALL])
    assert os.path.isdir('old/m')

def test_usage_and_unknown_command(capsys):
    assert main(['--help']) == 0
    out = capsys.readouterr().out
    assert all(f'  {c}' in out for c in ('fit', 'encode', 'report', 'demo'))
    assert main(['bogus']) == 2 and "unknown command 'bogus'" in capsys.readouterr().err
    assert main([]) == 2

@pytest.mark.parametrize('cmd,flags', [('fit', ['--out', '--cat', '--cont', '--drop', '--layers', '--valid-pct', '--article', '--kw']),
                                       ('encode', ['-o', '--output', '--keep', '--chunk-size']), ('report', ['--plot']), ('demo', ['--quick'])])
def test_help_for_each_command(cmd, flags, capsys):
    with pytest.raises(SystemExit) as e: main([cmd, '--help'])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith(f'usage: tabae {cmd}') and all(f in out for f in flags)

@pytest.mark.parametrize('prog', [[sys.executable, '-m', 'tabae'], ['tabae']])
def test_module_and_console_script(prog):
    "`python -m tabae` and the `tabae` console script reach the same dispatcher."
    if prog == ['tabae'] and shutil.which('tabae') is None: pytest.skip('the package is not installed (no console script)')
    r = subprocess.run(prog + ['encode', '--help'], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith('usage: tabae encode') and '--chunk-size' in r.stdout

def test_warnings_name_the_command_not_the_script(files, model_dir, tmp_path):
    "A warning printed as `.../bin/tabae:8: UnseenCategoryWarning: ...` and `sys.exit(main())`: the script's line, not one the user wrote."
    d, test = files
    test.assign(race='Martian').to_csv(tmp_path/'odd.csv', index=False)
    r = subprocess.run([sys.executable, '-m', 'tabae', 'encode', str(model_dir), str(tmp_path/'odd.csv'), '-o', str(tmp_path/'c.parquet'), '--quiet'],
                       capture_output=True, text=True, env={**ENV, 'PYTHONWARNINGS': 'default'}, timeout=120)  # as a user's shell shows warnings
    assert r.returncode == 0 and "\ntabae encode: UnseenCategoryWarning: Categories never seen in training (no training row has them; a class held only by validation rows counts) are encoded as '#na#': column 'race' in 1000 row(s) (such as ['Martian'])\n" in '\n' + r.stderr
    assert 'sys.exit(main())' not in r.stderr and 'UnseenCategoryWarning' not in r.stderr.replace('tabae encode: UnseenCategoryWarning', '')

def test_a_shift_warning_is_printed_once_for_a_file_of_many_chunks(files, model_dir, tmp_path):
    "The input-shift warning counts over the whole file, not per chunk: a column missing from every row is named once, with the file's row count; one missing only from the first chunk's rows is not named."
    d, test = files
    rows = test.iloc[:900].reset_index(drop=True)
    rows.assign(age=np.nan).to_csv(tmp_path/'noage.csv', index=False)
    rows.assign(race=rows.race.where(rows.index >= 300)).to_csv(tmp_path/'late.csv', index=False)
    def stderr(name):
        r = subprocess.run([sys.executable, '-m', 'tabae', 'encode', str(model_dir), str(tmp_path/name), '-o', str(tmp_path/'c.parquet'), '--quiet', '--chunk-size', '300'],
                           capture_output=True, text=True, env={**ENV, 'PYTHONWARNINGS': 'always'}, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stderr
    err = stderr('noage.csv')
    assert err.count("InputShiftWarning") == 1 and "'age' has no value in any of the 900 rows" in err
    assert "InputShiftWarning" not in stderr('late.csv')

def test_fit_warnings_speak_in_options(files, tmp_path):
    "A warning printed by `tabae fit` names the command's options (--drop, --kw), not the Python arguments (`cat_names`, `rank_gauss=True`) a command-line user cannot pass."
    d, test = files
    df = test.iloc[:600].assign(k='same')
    df.loc[df.index[0], 'age'] = 1e7
    df.to_csv(tmp_path/'odd.csv', index=False)
    r = subprocess.run([sys.executable, '-m', 'tabae', 'fit', str(tmp_path/'odd.csv'), '--cat', 'race', 'k', '--cont', 'age', 'hours-per-week', '--out', str(tmp_path/'m'),
                        '--epochs', '1', '--code-size', '4', '--layers', '8', '--valid-pct', '0', '--quiet'], capture_output=True, text=True, env={**ENV, 'PYTHONWARNINGS': 'default'}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "UninformativeColumnWarning: " in r.stderr and "Leave them out with --drop (or out of --cat/--cont)" in r.stderr
    assert "ExtremeValueWarning: " in r.stderr and """Try --kw '{"rank_gauss": true}' (it keeps""" in r.stderr and 'rank_gauss=True' not in r.stderr

def test_errors_and_warnings_give_command_line_remedies(files, tmp_path):
    "Text in a number column is to be corrected in the file (or the column passed with --cat), not converted with `pd.to_numeric`; an ordered categorical's ranks and numbers held as text are to be written to the file; a CSV that read a training class 'N/A' as missing is to be given as parquet, not read with `read_csv` options."
    d, test = files
    test.iloc[:200].assign(age=['41', 'forty'] * 100).to_csv(tmp_path/'text.csv', index=False)
    r = subprocess.run([sys.executable, '-m', 'tabae', 'fit', str(tmp_path/'text.csv'), '--cat', 'race', '--cont', 'age', '--out', str(tmp_path/'m'), '--epochs', '1'],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 1 and r.stderr.strip().endswith("such as ['forty']: correct them in the file (an empty cell is missing) or pass it in --cat"), r.stderr
    order = ['Preschool', '1st-4th', '5th-6th', '7th-8th', '9th', '10th', '11th', '12th', 'HS-grad', 'Some-college', 'Assoc-voc', 'Assoc-acdm', 'Bachelors', 'Masters', 'Prof-school', 'Doctorate']
    test.iloc[:200].assign(education=lambda d: pd.Categorical(d.education, categories=order, ordered=True)).to_parquet(tmp_path/'ordered.parquet')
    r = subprocess.run([sys.executable, '-m', 'tabae', 'fit', str(tmp_path/'ordered.parquet'), '--cat', 'race', '--cont', 'education', '--out', str(tmp_path/'m'), '--epochs', '1'],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 1 and r.stderr.strip().endswith("write its ranks (0, 1, ...) to the file, or pass it in --cat"), r.stderr
    test.iloc[:300].assign(pct=[f'{i % 40}%' for i in range(300)]).to_csv(tmp_path/'pct.csv', index=False)
    r = subprocess.run([sys.executable, '-m', 'tabae', 'fit', str(tmp_path/'pct.csv'), '--cat', 'race', 'pct', '--cont', 'age', '--out', str(tmp_path/'m'), '--epochs', '1',
                        '--code-size', '4', '--layers', '8', '--quiet'], capture_output=True, text=True, env={**ENV, 'PYTHONWARNINGS': 'default'}, timeout=120)
    assert r.returncode == 0 and "NumbersAsTextWarning" in r.stderr and "write them to the file as plain numbers and pass them with --cont" in r.stderr and 'pd.to_numeric' not in r.stderr, r.stderr
    rows = test.iloc[:200].assign(race=np.where(np.arange(200) % 4 == 0, 'N/A', test.race.iloc[:200]))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        save_encoder(fit_autoencoder(rows, ['race'], ['age'], code_size=4, layers=[8], epochs=1, progress=False), tmp_path/'na')
    rows.to_csv(tmp_path/'na.csv', index=False)
    r = subprocess.run([sys.executable, '-m', 'tabae', 'encode', str(tmp_path/'na'), str(tmp_path/'na.csv'), '-o', str(tmp_path/'c.parquet'), '--quiet'],
                       capture_output=True, text=True, env={**ENV, 'PYTHONWARNINGS': 'default'}, timeout=120)
    assert r.returncode == 0 and "if the rows come from a CSV, give them as parquet, which keeps the words" in r.stderr and 'read_csv(' not in r.stderr, r.stderr

def test_ctrl_c_is_one_line_and_leaves_no_output(files, tmp_path, monkeypatch, capsys):
    "A Ctrl-C in `tabae fit` printed a traceback through fastai (with `fit_autoencoder`'s hint for Python users); it is one line, exit status 130, and `--out` is gone again."
    d, _ = files
    def stop(*a, **k): raise FitInterrupted('stopped', None)
    monkeypatch.setattr('tabae.distributed.fit_distributed', stop)
    assert main(['fit', str(d/'train.csv'), '--cat', *CATS, '--out', str(tmp_path/'m'), *SMALL]) == 130
    assert capsys.readouterr().err == 'tabae fit: interrupted\n' and not (tmp_path/'m').exists()

def test_a_broken_pipe_elsewhere_is_still_an_error(files, model_dir, monkeypatch):
    "Only a closed standard output ends a command quietly: a broken pipe from anything else (a worker's socket) is reported."
    d, _ = files
    def broken(*a, **k): raise BrokenPipeError(32, 'Broken pipe')
    monkeypatch.setattr('tabae.persist.load_encoder', broken)
    with pytest.raises(SystemExit, match=r"tabae report: error: \[Errno 32\] Broken pipe"): main(['report', str(model_dir), str(d/'test.csv')])

def test_a_closed_pipe_ends_the_command_quietly(files, model_dir):
    "`tabae report ... | head` ended with \"tabae report: error: [Errno 32] Broken pipe\"."
    d, _ = files
    p = subprocess.Popen([sys.executable, '-m', 'tabae', 'report', str(model_dir), str(d/'test.csv')], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True)
    p.stdout.close()  # the reader goes away before the report is printed
    err = p.stderr.read()
    assert p.wait(timeout=120) == 1 and 'Broken pipe' not in err and 'Traceback' not in err and 'Exception ignored' not in err

def test_fit_passes_its_options(files, tmp_path, monkeypatch):
    "`--valid-pct`, `--seed`, `--patience`, `--lr`, `--epochs` and `--bs` reach the fit (only their error paths were checked)."
    import tabae.distributed as dist
    seen, real = [], dist.fit_distributed
    def spy(*a, **kw):
        seen.append(tuple(kw[k] for k in ('valid_pct', 'seed', 'patience', 'lr', 'epochs', 'bs')))
        return real(*a, **kw)
    monkeypatch.setattr(dist, 'fit_distributed', spy)
    d, _ = files
    assert main(['fit', str(d/'train.csv'), '--cat', *CATS, '--cont', *CONTS, '--out', str(tmp_path/'m'), '--valid-pct', '0.5', '--seed', '3', '--patience', '2', '--lr', '0.01', *SMALL]) == 0
    assert seen == [(0.5, 3, 2, 0.01, 1, 256)]

def test_demo_passes_quick(monkeypatch):
    "`tabae demo --quick` runs the short demo (the full one takes minutes)."
    import tabae.demo
    seen = []
    monkeypatch.setattr(tabae.demo, 'run_demo', lambda **kw: seen.append(kw))
    assert main(['demo', '--quick']) == 0 and seen == [dict(csv=None, quick=True)]

def test_encode_reads_question_marks_as_missing(files, model_dir, tmp_path):
    "`tabae encode` reads a CSV's '?' as missing, as `fit` and `report` do (it failed on a number column and made a class '?')."
    from tabae import read_table
    _, test = files
    odd = test.iloc[:50].astype({'age': object})
    odd.loc[odd.index[:3], 'age'] = '?'
    odd.loc[odd.index[3:6], 'workclass'] = '?'
    odd.to_csv(tmp_path / 'q.csv', index=False)
    assert main(['encode', str(model_dir), str(tmp_path / 'q.csv'), '-o', str(tmp_path / 'q.parquet'), '--quiet']) == 0
    want = encode(load_encoder(model_dir), read_table(tmp_path / 'q.csv'))
    np.testing.assert_allclose(pd.read_parquet(tmp_path / 'q.parquet')[list(want.columns)].to_numpy(), want.to_numpy(), atol=1e-6)

def test_encode_keeps_an_integer_column_that_gains_a_gap_in_a_later_chunk(files, model_dir, tmp_path):
    "A kept integer column with a gap only in a later chunk (read as int64, then float64) is cast to the first chunk's schema: every row written, the gap kept."
    _, test = files
    df = test.iloc[:600].assign(id=pd.array(range(600), dtype='Int64'))
    df.loc[df.index[450], 'id'] = pd.NA
    df.to_csv(tmp_path / 'keep.csv', index=False)
    assert main(['encode', str(model_dir), str(tmp_path / 'keep.csv'), '-o', str(tmp_path / 'keep.parquet'), '--keep', 'id', '--chunk-size', '300', '--quiet']) == 0
    out = pd.read_parquet(tmp_path / 'keep.parquet')
    assert len(out) == 600 and out['id'].isna().sum() == 1 and out['id'].iloc[449] == 449

def test_encode_refuses_a_kept_column_that_changes_type_between_chunks(files, model_dir, tmp_path):
    "A kept column of numbers in the first chunk and words in a later one cannot share the first chunk's schema: an error naming the file, the value and the fix, and no output left."
    _, test = files
    df = test.iloc[:600].assign(tag=[str(i) for i in range(450)] + ['word'] * 150)
    df.to_csv(tmp_path / 'keep.csv', index=False)
    out = tmp_path / 'keep.parquet'
    with pytest.raises(SystemExit, match=r"tabae encode: error: The --keep columns change type between chunks of .*keep\.csv \(.*'word'.*\): use a larger --chunk-size or a parquet file"):
        main(['encode', str(model_dir), str(tmp_path / 'keep.csv'), '-o', str(out), '--keep', 'tag', '--chunk-size', '300', '--quiet'])
    assert not out.exists()

def test_fit_prints_the_best_validation_loss(files, tmp_path, capsys, monkeypatch):
    "The closing line gives the lowest validation loss of the fit (the weights kept), not the last epoch's."
    import tabae.distributed
    d, _ = files
    real = tabae.distributed.fit_distributed
    def fit(*a, **kw):
        learn = real(*a, **kw)
        learn.recorder.values = [[1., 3.], [1., 2.], [1., 4.]]  # train and validation loss of three epochs, the second the best
        return learn
    monkeypatch.setattr(tabae.distributed, 'fit_distributed', fit)
    assert main(['fit', str(d/'train.csv'), '--cat', *CATS, '--cont', *CONTS, '--out', str(tmp_path/'m'), *SMALL]) == 0
    assert '(3 epoch(s), best valid_loss 2.0000)' in capsys.readouterr().out

def test_encode_refuses_a_table_without_rows(files, model_dir, tmp_path):
    "A CSV of a header alone (read as one empty chunk) is refused as an empty parquet file is, and no output is left (it wrote a parquet file of 0 rows)."
    _, test = files
    test.iloc[:0].to_csv(tmp_path / 'empty.csv', index=False)
    test.iloc[:0].to_parquet(tmp_path / 'empty.parquet')
    for ext in ('csv', 'parquet'):
        with pytest.raises(SystemExit, match=f"empty.{ext} has no rows to encode"): main(['encode', str(model_dir), str(tmp_path / f'empty.{ext}'), '-o', str(tmp_path / 'c.parquet'), '--quiet'])
        assert not (tmp_path / 'c.parquet').exists()
