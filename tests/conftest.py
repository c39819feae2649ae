import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pytest

from densekit.cli import main
from tests.helpers.publisher import Server
from tests.helpers.ci import pytest_runtest_makereport  # noqa: F401 (a hook)
from densekit.data.named import data_folders

FASHION_AVAILABLE = any((f / "train-images-idx3-ubyte.gz").exists() for f in data_folders("fashion-mnist"))
needs_fashion = pytest.mark.skipif(not FASHION_AVAILABLE, reason="Fashion-MNIST files not installed")

@pytest.fixture
def cli(capsys):
    """Run the command line in-process: returns (exit code, stdout, stderr)."""
    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


def run_subprocess(*args, cwd=None):
    """The real console entry point, to check what a user sees (no traceback)."""
    proc = subprocess.run([sys.executable, "-m", "densekit.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def write_iris_csv(folder: Path) -> Path:
    """Real data as a user's CSV: iris with named columns and text labels in 'species'."""
    from sklearn.datasets import load_iris
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = bunch.target_names[bunch.target]
    path = folder / "iris.csv"
    frame.drop(columns=["target"]).to_csv(path, index=False)
    return path


@pytest.fixture
def iris_csv(tmp_path) -> Path:
    return write_iris_csv(tmp_path)


class IrisRun(NamedTuple):
    result: Any          # densekit.TrainResult
    csv: Path            # the training file, as a user's CSV
    frame: pd.DataFrame  # its rows

    @property
    def run(self) -> Path:
        return self.result.run_dir


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> IrisRun:
    """A finished run on iris as a user's CSV, trained well enough to predict with (accuracy
    0.9 and more). One per test module: a module that damages it damages only its own."""
    import densekit
    folder = tmp_path_factory.mktemp("iris")
    csv = write_iris_csv(folder)
    result = densekit.train(data__source=str(csv), data__label="species", model__hidden=[32],
                            train__epochs=60, train__lr=0.01, out=folder / "run", quiet=True)
    return IrisRun(result, csv, pd.read_csv(csv))


@pytest.fixture
def server(monkeypatch, tmp_path):
    srv = Server()
    monkeypatch.setenv("DENSEKIT_MIRROR", srv.url)
    monkeypatch.setenv("HOME", str(tmp_path))           # the cache goes to tmp_path/.cache
    monkeypatch.delenv("DENSEKIT_DATA", raising=False)
    yield srv
    srv.close()
