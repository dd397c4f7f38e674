"""The cache separates what retrains from what only re-renders.

A reworded markdown cell re-renders every page from the cached executed notebook, with the
new text and no kernel: records stay byte-identical. A changed code cell, parameter or
kernel-side module executes again. Checked with a stand-in master notebook that trains
nothing, so each step takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlplab import params
from mlplab.pipeline import cache, experiments, runner

RUNS = "runs:\n  - name: a\n    epochs: 1\n  - name: b\n    epochs: 2\n"


def make_root(tmp_path: Path, prose: str = "A first sentence.") -> Path:
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "report" / "runs").mkdir(parents=True, exist_ok=True)
    cells = [new_markdown_cell(f"# Stand-in\n{prose}"),
             new_code_cell("epochs = 1\nrun_name = 'x'\nresults_path = None\n"
                           "networks_path = None", metadata={"tags": ["parameters"]}),
             # "Training" draws a random number, kept like the real notebook keeps networks.
             new_code_cell("import json, os, random\n"
                           "if networks_path and os.path.exists(networks_path):\n"
                           "    value = float(open(networks_path).read())\n"
                           "else:\n"
                           "    value = random.random()\n"
                           "    if networks_path:\n"
                           "        open(networks_path, 'w').write(repr(value))\n"
                           "print('value', value)\n"
                           "if results_path:\n"
                           "    json.dump({'name': run_name, 'status': 'ok', 'value': value}, "
                           "open(results_path, 'w'))")]
    nbformat.write(new_notebook(cells=cells), root / runner.MASTER_NOTEBOOK)
    (root / "exp.yaml").write_text(RUNS)
    return root


def build(root: Path) -> list[tuple[str, str]]:
    """Plan and run a build; return what each planned run needed (name, action)."""
    runs_dir = root / "report/runs"
    jobs, _ = runner.plan(experiments.load(root / "exp.yaml"), root, runs_dir, force=False,
                          timeout=120)
    runner.run_jobs(jobs, 1, None, lambda outcome: runner.land(outcome, runs_dir))
    return [(job.name, job.action) for job in jobs]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "report/runs").iterdir()}


@pytest.mark.slow
def test_markdown_edit_rerenders_without_a_kernel(tmp_path: Path):
    root = make_root(tmp_path)
    assert build(root) == [("a", "execute"), ("b", "execute")]
    assert build(root) == []
    before = snapshot(root)
    make_root(tmp_path, prose="A reworded sentence.")
    assert build(root) == [("a", "render"), ("b", "render")]
    after = snapshot(root)
    for name in ("a", "b"):
        assert after[f"{name}.json"] == before[f"{name}.json"]  # records untouched
        assert "A reworded sentence." in after[f"{name}.html"].decode()
        assert "A reworded sentence." in after[f"{name}.student.html"].decode()
        old_out = [o for c in nbformat.reads(before[f"{name}.ipynb"], 4).cells
                   if c.cell_type == "code" for o in c.outputs]
        new_out = [o for c in nbformat.reads(after[f"{name}.ipynb"], 4).cells
                   if c.cell_type == "code" for o in c.outputs]
        assert new_out == old_out  # the same random value: nothing was executed
    assert build(root) == []  # the new page key is remembered


@pytest.mark.slow
def test_code_parameter_or_training_code_changes_execute(tmp_path: Path, monkeypatch):
    root = make_root(tmp_path)
    build(root)
    nb = nbformat.read(root / runner.MASTER_NOTEBOOK, 4)
    nb.cells[2].source += "\nprint('more')"
    nbformat.write(nb, root / runner.MASTER_NOTEBOOK)
    assert build(root) == [("a", "execute"), ("b", "execute")]
    (root / "exp.yaml").write_text(RUNS.replace("epochs: 2", "epochs: 3"))
    assert build(root) == [("b", "execute")]
    real = cache.package_hash
    monkeypatch.setattr(cache, "package_hash",
                        lambda include=lambda rel: True: real(include) + (
                            "x" if include(Path("lab/train.py")) else ""))
    jobs, _ = runner.plan(experiments.load(root / "exp.yaml"), root, root / "report/runs",
                          force=False, timeout=120)
    # Training code changed: both run again and train, the kept networks are not offered.
    assert [(j.action, j.networks) for j in jobs] == [("execute", None), ("execute", None)]


@pytest.mark.slow
def test_page_code_change_reexecutes_with_the_kept_networks(tmp_path: Path, monkeypatch):
    """A kernel-side module that only words the page (narrative) changed: the notebook runs
    again for its new outputs, but loads the kept networks instead of training."""
    root = make_root(tmp_path)
    build(root)
    before = {n: json.loads((root / f"report/runs/{n}.json").read_text()) for n in "ab"}
    assert all((root / f"report/runs/{n}{runner.NETWORKS}").exists() for n in "ab")
    real = cache.package_hash
    monkeypatch.setattr(cache, "package_hash",
                        lambda include=lambda rel: True: real(include) + (
                            "x" if include(Path("lab/narrative.py")) else ""))
    jobs, _ = runner.plan(experiments.load(root / "exp.yaml"), root, root / "report/runs",
                          force=False, timeout=120)
    assert [(j.action, Path(j.networks).name) for j in jobs] == [
        ("execute", f"a{runner.NETWORKS}"), ("execute", f"b{runner.NETWORKS}")]
    assert build(root) == [("a", "execute"), ("b", "execute")]
    for name in "ab":
        after = json.loads((root / f"report/runs/{name}.json").read_text())
        assert after["value"] == before[name]["value"]  # not "trained" again
        assert after["code_key"] != before[name]["code_key"]
    # Forced, or with other parameters, it trains: the kept networks are not offered.
    jobs, _ = runner.plan(experiments.load(root / "exp.yaml"), root, root / "report/runs",
                          force=True, timeout=120)
    assert [j.networks for j in jobs] == [None, None]


@pytest.mark.slow
def test_a_new_record_without_networks_drops_the_old_ones(tmp_path: Path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / f"a{runner.NETWORKS}").write_bytes(b"old")
    runner.land(runner.Outcome("a", runner.Status.OK, None, {".json": b"{}"}, 0.0), runs)
    assert not (runs / f"a{runner.NETWORKS}").exists()
    (runs / f"a{runner.NETWORKS}").write_bytes(b"old")
    runner.land(runner.Outcome("a", runner.Status.FAILED, "boom", {".json": b"{}"}, 0.0), runs)
    assert (runs / f"a{runner.NETWORKS}").read_bytes() == b"old"  # a failure changes nothing


def test_merge_gives_up_when_code_cells_changed():
    executed = new_notebook(cells=[new_code_cell("x = 1", outputs=[])])
    master = new_notebook(cells=[new_markdown_cell("hi"), new_code_cell("x = 2")])
    assert cache.merge_prose(executed, master) is None
    master.cells[1].source = "x = 1"
    merged = cache.merge_prose(executed, master)
    assert [c.cell_type for c in merged.cells] == ["markdown", "code"]


def test_keys_separate_results_from_prose(tmp_path: Path):
    root = make_root(tmp_path)
    text = (root / runner.MASTER_NOTEBOOK).read_text()
    one, two = params.validate({"epochs": 1}), params.validate({"epochs": 2})
    k1 = cache.Hasher(root, text).keys(one, "sha")
    nb = json.loads(text)
    nb["cells"][0]["source"] = "# Other prose"
    k2 = cache.Hasher(root, json.dumps(nb)).keys(one, "sha")
    assert (k1.results, k1.code) == (k2.results, k2.code) and k1.page != k2.page
    k3 = cache.Hasher(root, text).keys(two, "sha")
    assert k3.results != k1.results


def test_results_key_follows_the_data_and_the_lock_file(tmp_path: Path):
    """Changed data or changed package versions with the same parameters must retrain:
    each changes the results key (and the code key, which also decides re-execution)."""
    root = make_root(tmp_path)
    text = (root / runner.MASTER_NOTEBOOK).read_text()
    p = params.validate({"epochs": 1})
    before = cache.Hasher(root, text).keys(p, "sha-of-the-data")
    other_data = cache.Hasher(root, text).keys(p, "sha-of-other-data")
    (root / cache.LOCK_FILE).write_text("numpy==2.0.0\n")
    other_lock = cache.Hasher(root, text).keys(p, "sha-of-the-data")
    assert other_data.results != before.results and other_data.code != before.code
    assert other_data.page != before.page
    assert other_lock.results != before.results and other_lock.code != before.code



def test_each_key_follows_the_parameters_and_the_data(tmp_path: Path):
    """A run's three keys are the build's shared part plus the run's own parameters and
    data: two runs of one build that differ in either never share a key, or the second
    would take the first one's networks, executed notebook or page."""
    root = make_root(tmp_path)
    hasher = cache.Hasher(root, (root / runner.MASTER_NOTEBOOK).read_text())
    one, two = params.validate({"epochs": 1}), params.validate({"epochs": 2})
    base = hasher.keys(one, "sha")
    for other in (hasher.keys(two, "sha"), hasher.keys(one, "sha-of-other-data")):
        assert other.results != base.results
        assert other.code != base.code
        assert other.page != base.page


def test_the_code_key_reads_the_code_not_how_the_json_stores_it(tmp_path: Path):
    """nbformat stores a cell's source as one string or as a list of lines (Jupyter writes
    lines, other tools one string): the same code re-saved in the other form must not
    re-execute anything, while one changed line must."""
    root = make_root(tmp_path)
    text = (root / runner.MASTER_NOTEBOOK).read_text()
    nb = json.loads(text)
    assert isinstance(nb["cells"][2]["source"], list)  # nbformat.write stores lines
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"])
    p = params.validate({"epochs": 1})
    keys = cache.Hasher(root, text).keys(p, "sha")
    one_string = cache.Hasher(root, json.dumps(nb)).keys(p, "sha")
    assert (one_string.results, one_string.code) == (keys.results, keys.code)
    nb["cells"][2]["source"] += " "
    edited = cache.Hasher(root, json.dumps(nb)).keys(p, "sha")
    assert edited.results != keys.results and edited.code != keys.code


@pytest.fixture
def package(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the package for the keys to hash, so a test can edit its modules."""
    import shutil

    copy = tmp_path / "mlplab"
    shutil.copytree(cache.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE_DIR", copy)
    return copy


@pytest.mark.parametrize("edit, changed", [
    ("lab/train.py", {"results", "code", "page"}),  # decides the trained networks
    ("lab/narrative.py", {"code", "page"}),  # only the page's code outputs
    ("pipeline/templates/offline/index.html.j2", {"page"}),  # only the rendering
    ("pipeline/html.py", {"page"}),
])
def test_each_module_changes_the_keys_it_can_affect(tmp_path: Path, package: Path, edit,
                                                    changed):
    root = make_root(tmp_path)
    text = (root / runner.MASTER_NOTEBOOK).read_text()
    p = params.validate({"epochs": 1})
    before = cache.Hasher(root, text).keys(p, "sha")
    with (package / edit).open("a") as fh:
        fh.write("\n# an edit\n")
    after = cache.Hasher(root, text).keys(p, "sha")
    assert {k for k in ("results", "code", "page")
            if getattr(after, k) != getattr(before, k)} == changed


def test_compiled_files_do_not_count_but_a_moved_module_does(tmp_path: Path, package: Path):
    root = make_root(tmp_path)
    text = (root / runner.MASTER_NOTEBOOK).read_text()
    p = params.validate({"epochs": 1})
    before = cache.Hasher(root, text).keys(p, "sha")
    (package / "lab" / "__pycache__").mkdir(exist_ok=True)
    (package / "lab" / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0compiled")
    assert cache.Hasher(root, text).keys(p, "sha") == before
    (package / "lab" / "narrative.py").rename(package / "lab" / "narration.py")
    assert cache.Hasher(root, text).keys(p, "sha").page != before.page


def test_a_code_cell_edit_changes_every_key(tmp_path: Path):
    root = make_root(tmp_path)
    text = (root / runner.MASTER_NOTEBOOK).read_text()
    p = params.validate({"epochs": 1})
    nb = json.loads(text)
    nb["cells"][2]["source"] = "print('other code')"
    one, two = (cache.Hasher(root, t).keys(p, "sha") for t in (text, json.dumps(nb)))
    assert one.results != two.results and one.code != two.code and one.page != two.page


def test_the_results_key_covers_the_training_code_and_what_it_imports():
    """Read from the imports, so a module the training code starts to use joins the key."""
    modules = set(cache.result_modules())
    assert {"lab/train.py", "lab/multiseed.py", "lab/models.py", "lab/data.py",  # lazy too
            "datafiles.py", "params.py", "lab/record.py"} <= modules
    assert not modules & {"lab/narrative.py", "lab/plots.py", "pipeline/runner.py"}
    assert all((cache.PACKAGE_DIR / m).is_file() for m in modules)
