"""The command line: what it refuses, what it never writes over, one name per idea."""

import shutil

import pytest
import yaml

import densekit
from densekit.cli import main
from densekit.config import Config
from tests.helpers.refusals import refused


def run_files(run):
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}


# ------------------------------------------------------------------ --output never loses a file


def test_predict_refuses_to_write_over_its_input(cli, iris_run):
    run, csv = iris_run.run, iris_run.csv
    before = csv.read_bytes()
    refused(cli, "predict", run, csv, "--output", csv, says=[str(csv), "already exists", "--overwrite"])
    assert csv.read_bytes() == before


def test_predict_writes_over_a_file_when_asked(cli, iris_run, tmp_path):
    run, csv = iris_run.run, iris_run.csv
    out = tmp_path / "preds.csv"
    out.write_text("old")
    code, _, err = cli("predict", run, csv, "--output", out, "--overwrite")
    assert code == 0, err
    assert out.read_text().startswith("prediction")


@pytest.mark.parametrize("name", ["model.json", "config.yaml", "metrics.json", "predictions.npz"])
def test_no_command_writes_over_a_run_file_even_with_overwrite(cli, iris_run, tmp_path, name):
    run, csv = iris_run.run, iris_run.csv
    before = run_files(run)
    target = run / name
    refused(cli, "predict", run, csv, "--output", target, "--overwrite",
            says=[str(target), "run directory", "outside"])
    refused(cli, "report", run, "--output", target, "--overwrite", says=[str(target), "run directory"])
    refused(cli, "compare", run, run, "--output", target, "--overwrite", says=[str(target), "run directory"])
    assert run_files(run) == before


def test_a_run_file_that_does_not_exist_yet_is_refused_too(cli, iris_run, tmp_path):
    crashed = tmp_path / "crashed"
    shutil.copytree(iris_run.run, crashed)
    (crashed / "metrics.json").unlink()
    refused(cli, "report", crashed, "--output", crashed / "metrics.json", says=["metrics.json", "run directory"])
    assert not (crashed / "metrics.json").exists()


def test_another_runs_report_is_not_this_runs_own(cli, iris_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(iris_run.run, other)
    before = (other / "report.html").read_bytes()
    refused(cli, "report", iris_run.run, "--output", other / "report.html", "--overwrite",
            says=["run directory"])
    assert (other / "report.html").read_bytes() == before


def test_report_redraws_its_own_page_without_overwrite(cli, iris_run):
    run = iris_run.run
    code, out, err = cli("report", run)
    assert code == 0 and str(run / "report.html") in out, err
    code, out, err = cli("report", run, "--output", run / "report.html")
    assert code == 0, err


def test_report_and_compare_refuse_an_existing_file(cli, iris_run, tmp_path):
    run = iris_run.run
    page = tmp_path / "page.html"
    page.write_text("mine")
    refused(cli, "report", run, "--output", page, says=["already exists", "--overwrite"])
    refused(cli, "compare", run, run, "--output", page, says=["already exists", "--overwrite"])
    assert page.read_text() == "mine"
    code, _, err = cli("compare", run, run, "--output", page, "--overwrite")
    assert code == 0 and "<html" in page.read_text(), err


@pytest.mark.parametrize("command", ["predict", "report", "compare"])
def test_an_output_folder_that_does_not_exist_is_named(cli, iris_run, tmp_path, command):
    run, csv = iris_run.run, iris_run.csv
    target = tmp_path / "no" / "such" / "out.csv"
    args = {"predict": [run, csv], "report": [run], "compare": [run, run]}[command]
    err = refused(cli, command, *args, "--output", target,
                  says=[f"folder {tmp_path / 'no' / 'such'} does not exist"])
    assert ".tmp" not in err and "disk space" not in err


def test_an_output_that_is_a_folder_is_refused(cli, iris_run, tmp_path):
    run, csv = iris_run.run, iris_run.csv
    refused(cli, "predict", run, csv, "--output", tmp_path, says=[str(tmp_path), "is a folder"])


# ------------------------------------------------------------------ flags refused with a message


@pytest.mark.parametrize("weights", ["{0: ", "abc", "[1, 2]"])
def test_a_malformed_class_weight_flag(cli, weights):
    refused(cli, "train", "--data", "iris", "--class-weight", weights,
            says=["--class-weight", "balanced", "{0: 1, 1: 5}"])


def test_negative_class_weights_are_refused(cli):
    refused(cli, "train", "--data", "iris", "--class-weight", "{0: 1, 1: -1}",
            says=["train.class_weight", "greater than or equal to 0"])


@pytest.mark.parametrize("lr", ["inf", "nan", "-inf"])
def test_a_learning_rate_that_is_not_finite(cli, lr):
    refused(cli, "train", "--data", "iris", f"--lr={lr}", says=["train.lr", "finite"])


@pytest.mark.parametrize("seed", [str(2**70), "-1"])
def test_a_seed_outside_numpys_range(cli, seed):
    refused(cli, "train", "--data", "iris", f"--seed={seed}", says=["train.seed", seed, "0 to 4294967295"])


def test_a_configuration_file_that_is_not_utf8(cli, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"train:\n  lr: 0.01 # \xff\n")
    refused(cli, "train", path, says=[str(path), "not UTF-8", "save it as UTF-8"])


def test_resume_needs_the_run_directory(cli):
    refused(cli, "train", "--data", "iris", "--resume", says=["--resume", "--out"])


def test_force_needs_resume(cli, tmp_path):
    refused(cli, "train", "--data", "iris", "--out", tmp_path / "r", "--force", says=["--force", "--resume"])
    assert not (tmp_path / "r").exists()


def test_resume_in_the_configuration_file_counts_as_out(cli, tmp_path):
    """out: in the YAML file is the same as --out: --resume is accepted (and starts the run)."""
    path = tmp_path / "c.yaml"
    path.write_text(f"out: {tmp_path / 'run'}\ndata: {{source: iris}}\nmodel: {{hidden: [4]}}\ntrain: {{epochs: 1}}\n")
    code, _, err = cli("train", path, "--resume", "-q")
    assert code == 0, err
    assert (tmp_path / "run" / "model.json").exists()


def test_momentum_with_adam_is_refused(cli):
    refused(cli, "train", "--data", "iris", "--momentum", "0.9", says=["train.momentum", "adam", "sgd"])
    refused(cli, "train", "--data", "iris", "--nesterov", says=["train.nesterov", "sgd"])


def test_resuming_a_folder_that_does_not_exist(cli, tmp_path):
    missing = tmp_path / "no" / "such" / "run"
    refused(cli, "resume", missing, says=[str(missing), "does not exist"])


# ------------------------------------------------------------------ one name per idea


def test_output_is_a_name_for_train_out(cli, tmp_path):
    for flag in ("--output", "-o", "--out"):
        out = tmp_path / flag.strip("-")
        code, stdout, err = cli("train", "--data", "iris", "--hidden", "4", "--epochs", "1", flag, out, "-q")
        assert code == 0, err
        assert (out / "model.json").exists() and str(out) in stdout


@pytest.mark.parametrize("command", ["evaluate", "predict", "report", "compare", "datasets", "config",
                                     "train", "resume", "cv", "summary"])
def test_every_command_accepts_quiet(command):
    from densekit.cli.parser import build_parser
    parser = build_parser()
    positional = {"evaluate": ["R", "F"], "predict": ["R", "F"], "report": ["R"], "compare": ["A", "B"],
                  "resume": ["R"]}.get(command, [])
    for flag in ("-q", "--quiet"):
        assert parser.parse_args([command, *positional, flag]).quiet


def test_quiet_predict_prints_nothing_but_the_predictions(cli, iris_run, tmp_path):
    run, csv = iris_run.run, iris_run.csv
    code, out, err = cli("predict", run, csv, "--output", tmp_path / "p.csv", "-q")
    assert (code, out, err) == (0, "", "")
    code, out, _ = cli("predict", run, csv, "--output", tmp_path / "q.csv")
    assert "wrote 150 predictions" in out


def test_quiet_datasets_lists_the_names_only(cli):
    code, out, _ = cli("datasets", "-q")
    names = out.split()
    assert code == 0 and "digits" in names and "iris" in names and "name" not in names


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"densekit {densekit.__version__}"


def test_config_prints_every_key_with_its_default(cli):
    code, out, _ = cli("config")
    assert code == 0
    assert yaml.safe_load(out) == Config().to_dict()
    assert "weight_decay: 0.0" in out and "nesterov: false" in out


def test_config_shows_what_the_flags_and_file_make(cli, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: {epochs: 3}\n")
    code, out, _ = cli("config", path, "--lr", "0.01", "--missing", "median")
    values = yaml.safe_load(out)
    assert code == 0 and values["train"]["lr"] == 0.01 and values["train"]["epochs"] == 3
    assert values["data"]["missing"] == "median"


def test_missing_flag_sets_the_fill(cli):
    refused(cli, "train", "--data", "iris", "--missing", "avg", says=["data.missing", "'avg'", "mean"])


def test_evaluate_reads_its_data_as_predict_does(cli, iris_run):
    run, csv = iris_run.run, iris_run.csv
    code, positional, err = cli("evaluate", run, csv, "--json")
    assert code == 0, err
    code, flagged, err = cli("evaluate", run, "--data", csv, "--json")
    assert code == 0 and flagged == positional and '"accuracy"' in positional


def test_evaluate_needs_data_once(cli, iris_run, tmp_path):
    run, csv = iris_run.run, iris_run.csv
    refused(cli, "evaluate", run, says=["evaluate needs labelled data", "densekit evaluate"])
    refused(cli, "evaluate", run, csv, "--data", tmp_path / "other.csv", says=["twice"])


def test_summary_columns_stay_apart_with_batch_norm(cli):
    code, out, err = cli("summary", "--data", "iris", "--hidden", "8,8", "--batch-norm")
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("Layer (type)"))
    shape_at, params_end = header.index("Output Shape"), len(header)
    rows = [line for line in lines if "(None, " in line]
    assert any("batch_normalization_1 (BatchNormalization)" in row for row in rows)
    for row in rows:
        assert row[shape_at - 1] == " " and row[shape_at:].startswith("(None, "), row
        assert len(row) == params_end and row.split()[-1] in ("40", "32", "0", "72", "27"), row
    rule = next(line for line in lines if line.startswith("─"))
    assert len(rule) == params_end
