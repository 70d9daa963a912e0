"""The var folder, the SQLite database and the instance secret are readable by their owner only.

The database holds password hashes and encrypted signing keys, and the instance secret keys every
token digest: another account on the machine must not read them. New files and the folder are
made owner-only; existing ones that others could read are tightened on the next start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from support.cli import run_gatepass
from support.server import ADMIN_PASSWORD


def _env(var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEPASS_")}
    env.update({"GATEPASS_SERVER_VAR_DIR": str(var_dir), "GATEPASS_ADMIN_PASSWORD": ADMIN_PASSWORD})
    return env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _migrate(var_dir: Path) -> None:
    result = run_gatepass(("migrate",), env=_env(var_dir), timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_first_start_makes_the_var_folder_database_and_secret_owner_only(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    _migrate(var_dir)
    assert _mode(var_dir) == 0o700
    assert _mode(var_dir / "instance_secret") == 0o600
    assert _mode(var_dir / "gatepass.db") == 0o600
    for journal in var_dir.glob("gatepass.db-*"):
        assert _mode(journal) == 0o600, journal.name


def test_files_others_could_read_are_tightened_on_the_next_start(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    _migrate(var_dir)
    var_dir.chmod(0o755)
    for name in ("instance_secret", "gatepass.db"):
        (var_dir / name).chmod(0o644)
    _migrate(var_dir)
    assert _mode(var_dir) == 0o750  # the group keeps what the admin gave it; the world loses all
    assert _mode(var_dir / "instance_secret") == 0o600
    assert _mode(var_dir / "gatepass.db") == 0o600
