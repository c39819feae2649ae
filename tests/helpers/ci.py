"""The test run's rule for skips in CI, as a pytest hook (conftest imports it)."""

import os

import pytest

# CI installs every data package, browser and extra that a test skips without, so a skip there
# means an install went wrong and the claim behind the test went unchecked: it fails the run.
# Only what CI cannot have may skip. Outside CI a skip stays a skip.
MAY_SKIP_IN_CI = ("CUDA",)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if os.environ.get("CI") != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if not any(word in reason for word in MAY_SKIP_IN_CI):
        report.outcome = "failed"
        report.longrepr = (f"skipped in CI ({reason}): CI installs what this test needs, so "
                           "a skip means an install failed; see .ci/run's output")
