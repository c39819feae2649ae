"""The suite's own rule: with CI=true a skipped test fails the run (CI installs what the tests
need), except a test that needs what CI cannot have (a CUDA device); outside CI a skip is a skip."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = '''
import pytest

def test_needs_data():
    pytest.skip("Fashion-MNIST files not installed")

@pytest.mark.skipif(True, reason="needs a CUDA device")
def test_needs_a_gpu():
    pass

def test_runs():
    assert True
'''


@pytest.fixture
def suite(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[1]))  # for tests.helpers
    pytester.makeconftest("from tests.helpers.ci import pytest_runtest_makereport  # noqa: F401")
    pytester.makepyfile(test_inner=TESTS)
    return pytester


def test_a_skip_fails_in_ci_unless_it_needs_a_gpu(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*skipped in CI (Fashion-MNIST files not installed)*"])


def test_a_skip_stays_a_skip_outside_ci(suite, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    suite.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1, skipped=2)
