"""The package names are generic (``entrypoints`` is also a PyPI package): make sure ours win."""

from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.parametrize("name", ["domain", "adapters", "entrypoints"])
def test_package_is_imported_from_src(name):
    module = __import__(name)
    assert Path(module.__file__).resolve().parent == SRC / name
