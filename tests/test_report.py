"""The HTML report, the comparison page and the TensorBoard event files."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits

import densekit
from densekit.report import build_comparison, build_report
from densekit.rundir.run import RunDir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")


def images_in(html: str) -> list[str]:
    return re.findall(r'<img src="(data:image/png;base64,[^"]+)"', html)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    return densekit.train(data__source="digits", train__epochs=4, out=out, quiet=True).run_dir


def test_training_writes_a_self_contained_report(digits_run):
    html = (digits_run / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # readable offline
    assert "Total params" in html and "9,610" in html
    assert "Most confused" in html and "predicted as" in html
    assert "First-layer weights" in html and "Misclassified examples" in html
    assert "First 20 predictions" in html
    # curves (2), confusion matrices (2), weights, gallery, first predictions
    assert len(images_in(html)) == 7


def test_report_options_drop_points_and_smooth(digits_run, tmp_path, cli):
    out = tmp_path / "smooth.html"
    code, stdout, _ = cli("report", digits_run, "--skip-first", "2", "--smooth", "0.9", "--output", out)
    assert code == 0 and str(out) in stdout
    assert "First 2 evaluation(s) dropped; exponential smoothing 0.9" in out.read_text()


def test_smoothing_is_an_exponential_moving_average():
    from densekit.report.plots import smooth
    assert smooth([1.0, 0.0, 0.0], 0.5) == [1.0, 0.5, 0.25]


def test_regression_report_has_scatter_and_residuals(tmp_path):
    path = tmp_path / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    run = densekit.train(data__source=str(path), data__label="target", train__epochs=3,
                         out=tmp_path / "run", quiet=True).run_dir
    html = (run / "report.html").read_text()
    assert "predicted vs actual" in html and "residuals" in html
    assert "Confusion matrix" not in html


def test_multilabel_report_has_per_label_metrics(tmp_path):
    digits = load_digits()
    y = np.column_stack([digits.target % 2 == 0, digits.target > 4]).astype(np.uint8)
    np.savez(tmp_path / "ml.npz", x=digits.data.astype(np.uint8), y=y)
    run = densekit.train(data__source=str(tmp_path / "ml.npz"), train__epochs=2,
                         out=tmp_path / "run", quiet=True).run_dir
    html = (run / "report.html").read_text()
    assert "Per class — test" in html and "label_1" in html and "hamming loss" in html
    assert "ROC and precision-recall (test)" in html and "<td>label_0</td>" in html


def test_binary_report_without_validation_data(tmp_path):
    run = densekit.train(data__source="breast-cancer", data__validation_split=0.0, train__epochs=2,
                         out=tmp_path / "run", quiet=True).run_dir
    html = (run / "report.html").read_text()
    assert "validation accuracy" not in html and "test accuracy" in html
    assert "malignant" in html and "benign" in html


def test_many_classes_fall_back_to_top_confusions(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3000, 64), dtype=np.uint8)
    y = rng.integers(0, 60, 3000)
    np.savez(tmp_path / "sixty.npz", x=x, y=y)
    run = densekit.train(data__source=str(tmp_path / "sixty.npz"), train__epochs=1,
                         out=tmp_path / "run", quiet=True).run_dir
    html = (run / "report.html").read_text()
    assert "top confusions" in html and "confusion matrix counts" not in html


def test_a_crashed_run_gets_a_partial_report_that_says_what_is_missing(digits_run, tmp_path):
    crashed = tmp_path / "crashed"
    shutil.copytree(digits_run, crashed)
    for name in ("model.json", "model.safetensors", "metrics.json", "predictions.npz", "run.json"):
        (crashed / name).unlink()
    html = build_report(crashed).read_text()
    assert "This run is incomplete" in html and "model.json" in html
    assert "Learning curves" in html and len(images_in(html)) == 2


def test_reporting_on_a_folder_that_is_not_a_run(tmp_path, cli):
    code, _, err = cli("report", tmp_path)
    assert code == 2 and "is not a densekit run" in err
    code, _, err = cli("report", tmp_path / "nowhere")
    assert code == 2 and "does not exist" in err


def test_bad_report_options(digits_run, cli):
    code, _, err = cli("report", digits_run, "--smooth", "1.5")
    assert code == 2 and "--smooth" in err


def test_compare_puts_runs_side_by_side(digits_run, tmp_path, cli):
    other = densekit.train(data__source="digits", model__hidden=[32], train__epochs=2,
                           out=tmp_path / "small", quiet=True).run_dir
    out = tmp_path / "compare.html"
    code, _, _ = cli("compare", digits_run, other, "--output", out)
    assert code == 0
    html = out.read_text()
    assert digits_run.name in html and "small" in html and "test accuracy" in html
    assert "2,410" in html  # the 64-32-10 network's parameters
    assert len(images_in(html)) >= 5  # 3 curves + 2 weight grids


def test_compare_needs_two_runs(digits_run):
    with pytest.raises(densekit.DensekitError, match="at least two"):
        build_comparison([digits_run], "x.html")


def test_event_files_hold_the_logged_values(digits_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(digits_run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"loss/train", "loss/validation", "accuracy/validation", "lr"} <= set(tags["scalars"])
    assert "weights/head.weight" in tags["histograms"]
    assert "first_layer_weights" in tags["images"]
    records = [json.loads(l) for l in (digits_run / "history.jsonl").read_text().splitlines()]
    logged = [(e.step, e.value) for e in events.Scalars("loss/validation")]
    assert logged == [(r["step"], pytest.approx(r["val_loss"], rel=1e-6)) for r in records]


def test_event_files_stay_small_for_long_runs(tmp_path):
    run = densekit.train(data__source="digits", train__steps=1000, train__eval_every=10,
                         out=tmp_path / "run", quiet=True).run_dir
    size = sum(f.stat().st_size for f in (run / "tensorboard").iterdir())
    assert size < 1_000_000  # 100 evaluations, 11 weight snapshots


@needs_chromium
def test_the_report_renders_in_headless_chromium_with_every_image_loaded(digits_run, tmp_path):
    page = tmp_path / "check.html"
    html = (digits_run / "report.html").read_text()
    # Count the decoded images once the page has loaded; Chromium prints the resulting DOM.
    probe = ("<script>window.addEventListener('load', () => { const imgs = [...document.images];"
             "document.title = 'loaded ' + imgs.filter(i => i.complete && i.naturalWidth > 0).length"
             " + ' of ' + imgs.length; });</script>")
    page.write_text(html.replace("</body>", probe + "</body>"))
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    title = re.search(r"<title>(.*?)</title>", result.stdout).group(1)
    count = len(images_in(html))
    assert title == f"loaded {count} of {count}"
    console_errors = [l for l in result.stderr.splitlines() if "CONSOLE" in l and "ERROR" in l.upper()]
    assert console_errors == []


def test_weight_snapshots_keep_the_first_layer_at_the_chosen_steps(tmp_path):
    result = densekit.train(data__source="digits", model__hidden=[32], train__steps=60,
                            train__weight_snapshots=[10, 50], out=tmp_path / "run", quiet=True)
    shots = RunDir(result.run_dir).read_snapshots()
    assert [step for step, _ in shots] == [10, 50] and shots[0][1].shape == (32, 64)
    assert not torch.equal(shots[0][1], shots[1][1])  # training moved the weights between them
    page = (result.run_dir / "report.html").read_text()
    assert "first-layer weights at step 10" in page and "first-layer weights at step 50" in page


@pytest.mark.parametrize("damage", ["object array", "truncated", "no scores"])
def test_unreadable_predictions_are_reported_as_damaged_not_a_traceback(digits_run, tmp_path, cli, damage):
    run = tmp_path / "damaged"
    shutil.copytree(digits_run, run)
    npz = run / "predictions.npz"
    if damage == "object array":  # would need pickle to read: np.load(allow_pickle=False) raises
        np.savez(npz, split=np.array("test"), y=np.array([[1], "a"], dtype=object), scores=np.zeros((2, 10)))
    elif damage == "truncated":
        npz.write_bytes(npz.read_bytes()[:200])
    else:
        np.savez(npz, split=np.array("test"), y=np.zeros(3))
    code, out, err = cli("report", run)
    assert code == 0 and "Traceback" not in err, err
    html = (run / "report.html").read_text()
    assert "could not be read" in html and "predictions.npz" in html
    assert "First 20 predictions" not in html and "Learning curves" in html


@pytest.mark.parametrize("name", ["run.json", "metrics.json"])
def test_an_unreadable_json_file_is_listed_as_damaged(digits_run, tmp_path, cli, name):
    run = tmp_path / "damaged"
    shutil.copytree(digits_run, run)
    (run / name).write_text('{"task": "multic')   # torn by a crash mid-write
    code, _, err = cli("report", run)
    assert code == 0 and "Traceback" not in err, err
    html = (run / "report.html").read_text()
    assert "could not be read" in html and name in html.split("could not be read")[1][:400]


def test_epoch_ticks_are_whole_numbers():
    from densekit.report.plots import curves_figure
    figure = curves_figure({"validation": ([1, 2, 3], [0.5, 0.4, 0.3])}, "loss", "loss")
    ticks = [t for t in figure.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks == [1, 2, 3]


def test_the_weight_grid_says_which_units_it_shows(digits_run):
    html = (digits_run / "report.html").read_text()
    assert "the first 64 of 128 units of the first hidden layer" in html


def test_binary_report_has_roc_and_precision_recall_with_their_areas(tmp_path):
    from sklearn.metrics import average_precision_score, roc_auc_score
    run = densekit.train(data__source="breast-cancer", train__epochs=3, out=tmp_path / "run", quiet=True).run_dir
    html = (run / "report.html").read_text()
    with np.load(run / "predictions.npz") as p:
        y, positive = p["y"].reshape(-1), p["scores"][:, 0]
    assert "ROC and precision-recall (test)" in html and 'alt="ROC curve"' in html
    assert f"<td>{roc_auc_score(y, positive):.3f}</td>" in html
    # the trapezoid area under the precision-recall steps, close to average precision
    section = html[html.index("ROC and precision-recall (test)"):]
    pr_auc = float(re.search(r"<td>benign</td><td>[\d.]+</td><td>([\d.]+)</td>", section).group(1))
    assert pr_auc == pytest.approx(average_precision_score(y, positive), abs=0.02)


def test_multiclass_and_regression_reports_have_no_roc(digits_run):
    assert "ROC" not in (digits_run / "report.html").read_text()


def test_compare_lists_the_settings_that_differ(digits_run, tmp_path):
    other = densekit.train(data__source="digits", model__hidden=[32], train__epochs=2, train__lr=0.001,
                           out=tmp_path / "small", quiet=True).run_dir
    html = build_comparison([digits_run, other], tmp_path / "c.html").read_text()
    table = html[html.index("Settings that differ"):html.index("<h2>Metrics")]
    assert "model.hidden" in table and "[128]" in table and "[32]" in table
    assert "train.epochs" in table and "train.lr" not in table and "<code>out</code>" not in table
    assert "the first 16 of 128 units" in html and "the first 16 of 32 units" in html


def test_compare_never_draws_raw_and_standardised_losses_on_one_axis(tmp_path):
    from densekit.report import compare
    from densekit.report.sections import RunView
    path = tmp_path / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    runs = [densekit.train(data__source=str(path), data__label="target", train__epochs=2,
                           model__standardize_target=flag, out=tmp_path / name, quiet=True).run_dir
            for name, flag in (("raw", False), ("scaled", True))]
    curves = compare.compared_curves([RunView.read(r) for r in runs])
    assert curves["losses_apart"]
    for figure in curves["figures"]:
        if "loss" in figure["title"]:
            assert len(figure["runs"]) == 1, figure["title"]
    assert [f["runs"] for f in curves["figures"] if f["title"] == "val mae"] == [["raw", "scaled"]]
    html = build_comparison(runs, tmp_path / "c.html").read_text()
    assert "different scales" in html and "model.standardize_target" in html


def test_a_run_keeps_its_colour_in_a_figure_where_another_run_is_missing():
    from matplotlib.colors import to_hex
    from densekit.report.plots import PALETTE, curves_figure
    colours = {"a": PALETTE[0], "b": PALETTE[1]}
    figure = curves_figure({"b": ([1, 2], [0.5, 0.4])}, "loss", "loss", colours=colours)
    assert to_hex(figure.axes[0].lines[0].get_color()) == PALETTE[1]


def test_the_files_a_report_expects_are_run_files():
    from densekit.report import EXPECTED
    from densekit.rundir.outputs import RUN_FILES
    assert set(EXPECTED) <= RUN_FILES
