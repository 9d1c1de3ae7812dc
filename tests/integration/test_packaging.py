"""The wheel is a complete GovFlow: package, built-in plugins, migrations, entry points."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from govflow.adapters.db.migrations import discover
from tests.support.engine import ROOT


def test_the_wheel_carries_the_plugins_the_migrations_and_the_entry_points(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("govflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = {f"govflow/_migrations/{m.name}" for m in discover()}
    assert migrations <= names
    assert {"govflow/adapters/db/sql/steps.sql", "govflow/adapters/db/sql/operations.sql"} <= names
    console = "govflow/http/console"
    assert {f"{console}/templates/base.html", f"{console}/static/htmx.min.js"} <= names
    assert f"{console}/static/pico.classless.min.css" in names
    for plugin in ("govflow_manual", "govflow_notification", "govflow_jira"):
        assert f"{plugin}/__init__.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[govflow.plugins]" in text
    assert "notification = govflow_notification" in text
    assert "govflow = govflow.cli.main:main" in text
    assert not any(n.startswith("tests/") for n in names)
