import os
import sys

import pytest


def cli(*args: str, timeout: float | None = None) -> tuple[int, str, str]:
    """Run ``chipfit ARGS`` in this process: (exit code, stdout, stderr). ``timeout`` is accepted for
    the callers written for a subprocess; it is not enforced here."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from chipfit.cli import run

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def cli_process(*args: str, timeout: float = 300, **kwargs) -> tuple[int, str, str]:
    """Run ``python -m chipfit ARGS`` in a fresh process: (exit code, stdout, stderr)."""
    import subprocess

    p = subprocess.run([sys.executable, "-m", "chipfit", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, **kwargs)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def run_cli():
    """``chipfit ARGS`` in this process (fast: no fresh interpreter importing torch per call)."""
    return cli


@pytest.fixture
def run_cli_process():
    """``python -m chipfit ARGS`` in a fresh process, for what only a real process shows (the
    entry point, imports at start-up, output to a pipe)."""
    return cli_process


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


@pytest.fixture(scope="module")
def counts():
    """``chipfit.count`` memoised per test module (a zoo network is traced once, however many
    tests read it); a module may override it with its own."""
    import chipfit

    cache = {}

    def count(name, **kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = chipfit.count(name, **kwargs)
        return cache[key]

    return count
