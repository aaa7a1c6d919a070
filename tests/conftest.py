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
