"""Packaging: the built wheel installs the client's layout inside the privlog namespace."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import privlog

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(name="wheel", scope="module")
def _wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True,
    )  # fmt: skip
    (wheel,) = out.glob("privlog-*.whl")
    return wheel


def test_wheel_maps_adapters_and_migrations_into_privlog(wheel: Path) -> None:
    """The wheel holds privlog/adapters and privlog/migrations, the typing marker and the
    demo samples, and nothing at the top level but privlog and its metadata."""
    names = zipfile.ZipFile(wheel).namelist()
    assert "privlog/adapters/__init__.py" in names
    assert "privlog/migrations/__init__.py" in names
    assert "privlog/migrations/versions/__init__.py" in names
    assert "privlog/py.typed" in names
    assert "privlog/samples/prompts.txt" in names
    for asset in ("index.html", "dashboard.js", "dashboard.css"):  # the dashboard, offline
        assert f"privlog/audit/static/{asset}" in names
    tops = {n.split("/")[0] for n in names}
    assert tops == {"privlog", f"privlog-{privlog.__version__}.dist-info"}


def test_clean_venv_imports_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    """Installed into a clean virtualenv, the wheel provides privlog.adapters and
    privlog.migrations from site-packages, while `import adapters` and `import migrations`
    fail there; the console script runs."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    probe = (
        "import importlib, json\n"
        "import privlog.adapters, privlog.migrations, privlog.migrations.versions\n"
        "missing = []\n"
        "for name in ('adapters', 'migrations'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        missing.append(name)\n"
        "print(json.dumps({'adapters': privlog.adapters.__file__,\n"
        "                  'migrations': privlog.migrations.__file__, 'missing': missing}))\n"
    )
    done = subprocess.run(
        [str(py), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout)
    site = str(venv / "lib")
    assert found["adapters"].startswith(site)
    assert found["migrations"].startswith(site)
    assert found["missing"] == ["adapters", "migrations"]
    done = subprocess.run(
        [str(venv / "bin" / "privlog"), "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"privlog {privlog.__version__}"


def test_import_privlog_loads_no_framework_or_model() -> None:
    """`import privlog` pulls in no web framework, HTTP client, database layer or NLP."""
    heavy = ["flask", "starlette", "fastapi", "httpx", "requests", "sqlalchemy", "spacy",
             "presidio_analyzer"]  # fmt: skip
    code = f"import sys, privlog; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_public_api() -> None:
    """privlog.__all__ is exactly the documented surface, and every name resolves."""
    assert sorted(privlog.__all__) == [
        "ConfigError",
        "DetectorError",
        "EgressBlocked",
        "Finding",
        "InvalidSubject",
        "KeyFileError",
        "ModelNotInstalled",
        "Policy",
        "Privlog",
        "PrivlogError",
        "Receipt",
        "Replacement",
        "Scrubbed",
        "Settings",
        "StoreError",
        "Subject",
        "UsageRecord",
        "__version__",
        "install_egress_guard",
        "migrate",
    ]
    for name in privlog.__all__:
        assert getattr(privlog, name) is not None
    with pytest.raises(AttributeError):
        _ = privlog.NoSuchThing  # type: ignore[attr-defined]
