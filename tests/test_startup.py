"""A command imports only what it uses: on a small table, imports are most of what a user waits
for. (The wall-clock figures are benchmarks/startup.py's; these tests check the imports behind
them, in a fresh process as a user starts one.)"""

import subprocess
import sys

import pytest

# Run the command line, then print the modules it imported on the last line of stdout (also
# when argparse ends the program itself, as --version and --help do).
PROGRAM = ("import sys\nfrom densekit.cli import main\ntry:\n    code = main(sys.argv[1:])\n"
           "finally:\n    print('\\n' + ' '.join(sorted(sys.modules)))\nsys.exit(code)")
HEAVY = {"torch", "pandas", "sklearn", "scipy", "matplotlib"}


def imported_by(*args) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROGRAM, *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    modules = set(proc.stdout.splitlines()[-1].split())
    assert "densekit.cli" in modules  # the list, not the command's own output
    return modules


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["train", "--help"]])
def test_version_and_help_import_no_numerical_library(args):
    assert imported_by(*args) & HEAVY == set()


def test_a_default_run_never_imports_the_compiler(tmp_path):
    """torch.optim imports torch._dynamo (1-2 s, with sympy) on its optimizers' first calls;
    densekit's Adam and AdamW call the same functions without that guard."""
    modules = imported_by("train", "--data", "iris", "-q", "--out", tmp_path / "run")
    assert "torch.optim" in modules and (tmp_path / "run" / "report.html").exists()
    assert "torch._dynamo" not in modules and "sympy" not in modules
    modules = imported_by("evaluate", tmp_path / "run", "iris")
    assert "torch._dynamo" not in modules and "matplotlib" not in modules


ADAMW_STEPS = """
import sys
import torch
from densekit.training.eager_optim import AdamW, create_adam_state
weight = torch.nn.Parameter(torch.ones(3))
optimizer = AdamW([weight], lr=0.1, fused=True)
create_adam_state(optimizer)
(weight ** 2).sum().backward()
optimizer.load_state_dict(optimizer.state_dict())
optimizer.zero_grad()
print("torch._dynamo" in sys.modules)
"""


def test_adamw_bookkeeping_never_imports_the_compiler():
    proc = subprocess.run([sys.executable, "-c", ADAMW_STEPS], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False"]


def test_predicting_from_a_numeric_table_needs_no_scikit_learn(tmp_path, iris_run):
    """scikit-learn and SciPy (a second to import) serve training and metrics; prediction
    reads the file with pandas and runs the network."""
    out = tmp_path / "predictions.csv"
    modules = imported_by("predict", iris_run.run, iris_run.csv, "--output", out, "-q")
    assert len(out.read_text().splitlines()) == 151
    assert modules & {"sklearn", "scipy", "matplotlib", "torch._dynamo"} == set()
