"""The package as users install it: a wheel built from the tree carries every data file, and
chipfit runs from it (not only from an editable checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_data_and_runs(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=600)
    [wheel] = tmp_path.glob("chipfit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    src = ROOT / "src"
    wanted = [p.relative_to(src).as_posix() for p in src.rglob("*")
              if p.is_file() and p.suffix in (".yaml", ".html", ".js", ".css", ".svg", ".gz")]
    assert wanted and not [w for w in wanted if w not in names]
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    code = ("import chipfit, sys; assert chipfit.__file__.startswith(sys.argv[1]), chipfit.__file__; "
            "from chipfit.data import zoo; assert len(chipfit.chips()) > 50 and len(zoo.entries()) > 40; "
            "print(chipfit.check('llama-2-7b', 'rk3588', fps=1).bound); "
            "assert chipfit.check('resnet18', 'rk3588', fps=1).count.macs > 0 and 'torch' not in sys.modules")
    p = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() in ("compute", "memory")
