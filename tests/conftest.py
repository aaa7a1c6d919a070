import os
import sys

import pytest


@pytest.fixture
def run_cli():
    """Run ``python -m chipfit ARGS`` in a fresh process: (returncode, stdout, stderr)."""
    import subprocess

    def run(*args: str, timeout: float = 300):
        p = subprocess.run([sys.executable, "-m", "chipfit", *args], capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    return run


@pytest.fixture(autouse=True)
def _no_user_chip_files(tmp_path_factory, monkeypatch):
    """Tests see the built-in chip database only, never the developer's own chip folder."""
    monkeypatch.setenv("CHIPFIT_CHIPS_DIR", str(tmp_path_factory.mktemp("no-user-chips")))


@pytest.fixture(scope="module")
def artifacts():
    """Where the browser tests put their screenshots: $CHIPFIT_ARTIFACTS or test-artifacts/ (gitignored)."""
    from pathlib import Path

    out = Path(os.environ.get("CHIPFIT_ARTIFACTS") or Path(__file__).resolve().parents[1] / "test-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out
