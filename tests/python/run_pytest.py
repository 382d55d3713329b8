#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CTest's entry to the Python suite: run_pytest.py BUILD_PYTHON_DIR [pytest args...].

Exit 77 (CTest: skipped) with the reason on stdout when the suite cannot run here — the module
was not built (NST_PYTHON found no nanobind), or pytest/NumPy are missing — and when every test
skipped itself; a skip is never counted as a pass.
"""
import glob
import os
import sys

SKIP = 77


def skip(reason):
    print(f"SKIPPED: {reason}")
    sys.exit(SKIP)


def main():
    module_dir = sys.argv[1]
    if not glob.glob(os.path.join(module_dir, "nst", "_nst*.so")):
        skip(f"the Python module was not built (no {module_dir}/nst/_nst*.so: configure found no nanobind or "
             "Python headers; tools/install_test_deps.sh installs them)")
    for name in ("pytest", "numpy"):
        try:
            __import__(name)
        except ImportError:
            skip(f"{name} is not installed for {sys.executable} (tools/install_test_deps.sh)")
    import pytest

    class Outcomes:
        passed = failed = skipped = 0

        def pytest_runtest_logreport(self, report):
            if report.when == "call" and report.passed:
                self.passed += 1
            elif report.failed:
                self.failed += 1
            elif report.skipped:
                self.skipped += 1

    sys.path.insert(0, module_dir)
    os.environ["PYTHONPATH"] = module_dir + os.pathsep + os.environ.get("PYTHONPATH", "")
    outcomes = Outcomes()
    here = os.path.dirname(os.path.abspath(__file__))
    rc = pytest.main(["-q", "-p", "no:cacheprovider", here] + sys.argv[2:], plugins=[outcomes])
    if rc == 0 and outcomes.passed == 0:
        skip(f"all {outcomes.skipped} tests skipped themselves (reasons above)")
    sys.exit(int(rc))


if __name__ == "__main__":
    main()
