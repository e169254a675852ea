"""Loads core/runner as the package `_pyrunner`, as the binary does with its embedded copy."""
import importlib.util
import os
import sys

RUNNER_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "core", "runner"))


def load():
    if "_pyrunner" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "_pyrunner", os.path.join(RUNNER_DIR, "__init__.py"),
            submodule_search_locations=[RUNNER_DIR])
        package = importlib.util.module_from_spec(spec)
        sys.modules["_pyrunner"] = package
        spec.loader.exec_module(package)
    return sys.modules["_pyrunner"]
