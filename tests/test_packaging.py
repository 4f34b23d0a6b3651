"""The wheel holds every subpackage and the shipped model, as an installed package needs them."""

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parent.parent


def _setuptools():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_subpackage_is_listed():
    listed = set(_setuptools()["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "densitometry").rglob("__init__.py")
    }
    assert found <= listed, f"missing from [tool.setuptools] packages: {sorted(found - listed)}"


def test_model_files_are_package_data():
    config = _setuptools()
    model_dir = ROOT / config["package-dir"]["densitometry.models"]
    patterns = config["package-data"]["densitometry.models"]
    shipped = {path.name for pattern in patterns for path in model_dir.glob(pattern)}
    assert {"refiner.json", "refiner.pt", "MODEL_CARD.md"} <= shipped
