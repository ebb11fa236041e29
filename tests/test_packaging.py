"""The package as a user installs it: a wheel built from the checkout, installed into a fresh environment, finds
its cities and scenarios by name (not only from a checkout)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_an_installed_wheel_runs_shipped_scenarios_by_name(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(ROOT)], check=True, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("simcity_kids-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True)
    # The dependencies come from the test environment's site-packages, added as a plain path: its .pth files
    # (among them the editable install of this checkout) are not processed, so only the wheel is importable.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()

    def simcity_kids(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([python, "-m", "simcity_kids", *args], cwd=work, capture_output=True, text=True)

    where = subprocess.run([python, "-c", "import simcity_kids; print(simcity_kids.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where
    listed = simcity_kids("scenarios")
    shipped = sorted(path.stem for path in (ROOT / "scenarios").glob("*.toml"))
    assert listed.returncode == 0 and [line.split()[0] for line in listed.stdout.splitlines()] == shipped
    ran = simcity_kids("run", "universal_summer", "--years", "1", "--quiet", "--out", "result")
    assert ran.returncode == 0, ran.stderr
    assert (work / "result" / "manifest.json").exists()
