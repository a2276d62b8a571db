import pathlib
import pytest

nbformat, nbclient = pytest.importorskip('nbformat'), pytest.importorskip('nbclient')
NB = pathlib.Path(__file__).parent.parent / 'nbs' / 'tabae_article.ipynb'

def outputs(nb) -> list:
    "Every output of every code cell, as `(mime type, text)` pairs."
    res = []
    for cell in nb.cells:
        for o in cell.get('outputs', []):
            if o.output_type == 'stream': res.append(('stream', o.text))
            for mime, data in o.get('data', {}).items(): res.append((mime, data if isinstance(data, str) else ''.join(data)))
    return res

def test_article_notebook_runs(monkeypatch):
    "The article notebook runs top to bottom with its short setting and shows the table, the report, the plots and the scores."
    nb = nbformat.read(NB, as_version=4)
    assert not any(c.get('outputs') for c in nb.cells if c.cell_type == 'code')  # stored without outputs
    monkeypatch.setenv('TABAE_QUICK', '1')
    monkeypatch.delenv('MPLBACKEND', raising=False)  # the kernel's inline backend
    nbclient.NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': str(NB.parent)}}).execute()
    outs = outputs(nb)
    text = '\n'.join(t for m, t in outs if m != 'image/png')
    assert 'recon_r2' in text and 'cat_acc' in text  # the per-epoch table
    assert 'AEReport on 1,000 rows' in text
    shown = [c for c in nb.cells if c.cell_type == 'code' and c.source.strip() == 'learn.show_results(max_n=3)']
    assert len(shown) == 1 and any('rebuilt' in ''.join(o.get('data', {}).get('text/html', '')) for o in shown[0].outputs)  # rows above their rebuilds
    plots = [c for c in nb.cells if c.cell_type == 'code' and c.source.strip() == 'report.plot()']
    assert len(plots) == 1 and sum('image/png' in o.get('data', {}) for o in plots[0].outputs) == 1  # shown once, not twice
    assert 'accuracy on adult_test' in text and 'raw columns' in text

def test_report_plot_shows_once_in_jupyter(monkeypatch):
    "`report.plot();` and `fig = report.plot()` showed nothing under Jupyter's inline backend (the figure was closed, to be shown as the cell's value only); each form now shows it once."
    monkeypatch.delenv('MPLBACKEND', raising=False)
    setup = ("import pandas as pd\nfrom tabae import AEReport\n"
             "r = AEReport(pd.DataFrame({'x': [1., 2., 3.], 'k': list('aab')}), pd.DataFrame({'x': [1., 2., 2.5], 'k': list('abb')}), ['k'], ['x'])")
    forms = ['r.plot()', 'r.plot();', 'fig = r.plot()']
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in [setup] + forms])
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3').execute()
    assert [sum('image/png' in o.get('data', {}) for o in c.outputs) for c in nb.cells[1:]] == [1, 1, 1]
