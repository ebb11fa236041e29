"""Output folders: names from files stay inside simcity-output/, a bad --out is refused before the run with one
line, an earlier result folder is replaced whole, and a run killed at any moment leaves no folder or a
complete one (never a half file, never the files of two runs side by side)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.cli import main
from simcity_kids.model import CityModel
from simcity_kids.core.output import (PARTIAL_PREFIX, RESULT_FILES, check_output_folder, safe_name,
                                 write_folder_atomically)
from simcity_kids.core.validation import ConfigError

FAST = ["--years", "1", "--scale", "10", "--quiet"]
PACKAGE = Path(sk.__file__).resolve().parent


def _tree(root: Path) -> set[Path]:
    """Every file and folder under ``root``."""
    return {path.relative_to(root) for path in root.rglob("*")}


def _one_line_about_out(capsys: pytest.CaptureFixture[str]) -> str:
    printed = capsys.readouterr()
    message = printed.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in printed.err, printed.err
    assert message.startswith("simcity-kids: error: --out: ") and "allowed: a new folder" in message, message
    return message


def test_safe_name_keeps_letters_digits_and_underscores_only():
    assert safe_name("Salem", "city") == "salem"
    assert safe_name("universal_summer", "scenario") == "universal_summer"
    assert safe_name("Chattanooga-Hamilton County, TN", "city") == "chattanooga-hamilton-county-tn"
    assert safe_name("../../etc/passwd", "x") == "etc-passwd"
    assert safe_name("/abs/path", "x") == "abs-path"
    assert safe_name("a\0b", "x") == "a-b"
    assert safe_name("São Tomé", "x") == "sao-tome"
    for empty in ("", "..", "/", "\0", "日本"):
        assert safe_name(empty, "fallback") == "fallback"
    assert len(safe_name("x" * 500, "x")) <= 80


ESCAPING_NAMES = {
    "dots": "../../escaped",
    "slashes": "a/../../b/../../../escaped",
    "absolute": "{outside}/escaped-absolute",
    "NUL byte": "esc\\u0000aped/../..",
}


@pytest.mark.parametrize("name", ESCAPING_NAMES.values(), ids=ESCAPING_NAMES.keys())
def test_names_from_a_scenario_file_stay_inside_the_output_folder(name, tmp_path, monkeypatch, seed):
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (work / "odd.toml").write_text(f'name = "{name.format(outside=outside)}"\n')
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    assert main(["run", "odd.toml", "--seed", str(seed), *FAST]) == 0
    new = _tree(tmp_path) - before
    assert new and all(path.parts[:2] == ("work", "simcity-output") for path in new), sorted(new)
    written = [path for path in (work / "simcity-output").iterdir()]
    assert len(written) == 1 and written[0].name.endswith(f"-salem-seed{seed}"), written
    assert sorted(os.listdir(written[0])) == sorted(RESULT_FILES)
    assert not list(tmp_path.parent.glob("escaped*")) and not list(tmp_path.parent.parent.glob("escaped*"))


def test_out_with_a_nul_byte_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--out", "bad\0name", *FAST]) == 2
    assert "NUL byte" in _one_line_about_out(capsys)
    assert _tree(tmp_path) == set()


def _existing_file(d: Path) -> Path:
    (d / "notes.txt").write_text("mine")
    return d / "notes.txt"


def _below_a_file(d: Path) -> Path:
    return _existing_file(d) / "out"


def _folder_of_other_things(d: Path) -> Path:
    (d / "thesis").mkdir()
    (d / "thesis" / "chapter1.tex").write_text("mine")
    return d / "thesis"


def _result_folder_with_other_things(d: Path) -> Path:
    folder = d / "old"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"scenario": "baseline", "seed": 0, "config_hash": "0"}')
    (folder / "my_plot.png").write_text("mine")
    return folder


def _read_only_parent(d: Path) -> Path:
    (d / "locked").mkdir()
    (d / "locked").chmod(0o555)
    return d / "locked" / "out"


def _read_only_empty_folder(d: Path) -> Path:
    (d / "locked").mkdir()
    (d / "locked").chmod(0o555)
    return d / "locked"


def _name_too_long(d: Path) -> Path:
    return d / ("x" * 300)


def _parent_name_too_long(d: Path) -> Path:
    return d / ("x" * 300) / "out"


BAD_OUTS = {
    "existing file": (_existing_file, "is a file"),
    "parent is a file": (_below_a_file, "parent is a file"),
    "folder of other things": (_folder_of_other_things, "chapter1.tex"),
    "result folder with other things": (_result_folder_with_other_things, "my_plot.png"),
    "read-only parent": (_read_only_parent, "permission denied"),
    "read-only empty folder": (_read_only_empty_folder, "permission denied"),
    "name too long": (_name_too_long, "longer than"),
    "parent name too long": (_parent_name_too_long, "longer than"),
}


@pytest.mark.parametrize("case", BAD_OUTS.values(), ids=BAD_OUTS.keys())
def test_bad_out_is_refused_before_the_run_with_one_line(case, tmp_path, capsys, monkeypatch):
    make_out, phrase = case
    if phrase == "permission denied" and os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    out = make_out(tmp_path)

    def never_built(*args, **kwargs):
        raise AssertionError("the model was built before --out was checked")

    monkeypatch.setattr(CityModel, "__init__", never_built)
    before = {path: (path.stat().st_mtime_ns if path.is_file() else None) for path in tmp_path.rglob("*")}
    try:
        assert main(["run", "--out", str(out), *FAST]) == 2
        message = _one_line_about_out(capsys)
        assert phrase in message, message
        after = {path: (path.stat().st_mtime_ns if path.is_file() else None) for path in tmp_path.rglob("*")}
        assert after == before  # nothing of the user's touched, no probe left behind
    finally:
        for path in tmp_path.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)


def test_save_refuses_a_folder_of_other_things(tmp_path, seed):
    (tmp_path / "data.csv").write_text("mine")
    result = sk.run(years=1, seed=seed, scale=10)
    with pytest.raises(ConfigError, match="data.csv"):
        result.save(tmp_path)
    assert os.listdir(tmp_path) == ["data.csv"]


def test_rerun_replaces_an_earlier_result_folder_whole(tmp_path, capsys, seed):
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), "--seed", str(seed), "--years", "2", "--scale", "10", "--quiet"]) == 0
    first = {name: (out / name).read_bytes() for name in RESULT_FILES}
    assert main(["run", "--out", str(out), "--seed", str(seed + 1), *FAST]) == 0
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no partial or old folder left beside it
    assert sorted(os.listdir(out)) == sorted(RESULT_FILES)
    assert json.loads((out / "manifest.json").read_text())["seed"] == seed + 1
    assert all((out / name).read_bytes() != first[name] for name in RESULT_FILES)
    assert sorted(pd.read_parquet(out / "outcomes.parquet").year.unique()) == [0]  # not the old run's year 1
    fresh = tmp_path / "fresh"
    assert main(["run", "--out", str(fresh), "--seed", str(seed + 1), *FAST]) == 0
    for name in ("outcomes.csv", "trace.csv"):
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


def test_a_failing_write_leaves_the_earlier_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("old")

    def half_then_fail(folder: Path) -> None:
        (folder / "outcomes.csv").write_text("year\n0\n")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder_atomically(out, half_then_fail)
    assert sorted(os.listdir(tmp_path)) == ["out"] and os.listdir(out) == ["manifest.json"]
    assert (out / "manifest.json").read_text() == "old"


def test_check_output_folder_returns_the_resolved_folder_and_leaves_no_trace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_output_folder(Path("a/b/../c")) == tmp_path / "a" / "c"
    assert _tree(tmp_path) == set()  # the parents it created for the write test are gone again


# --- Killed runs. Each kill is checked against the complete results of the same seed, made beforehand.

def _digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in ("outcomes.csv", "trace.csv", "outcomes.parquet")}


def _absent_or_complete(out: Path, complete: dict[int, dict[str, str]]) -> str:
    """'absent', or the seed of the one complete run that ``out`` holds; fails on anything in between."""
    if not os.path.lexists(out):
        return "absent"
    assert sorted(os.listdir(out)) == sorted(RESULT_FILES), os.listdir(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] in complete, manifest
    assert len(pd.read_csv(out / "outcomes.csv")) == len(pd.read_parquet(out / "outcomes.parquet"))
    assert _digests(out) == complete[manifest["seed"]]  # every file from the run the manifest names
    return str(manifest["seed"])


@pytest.mark.slow
def test_killed_run_leaves_no_folder_or_a_complete_one(tmp_path, seed):
    command = [sys.executable, "-m", "simcity_kids", "run", "--city", "salem", "--years", "1", "--seed", str(seed),
               "--out", "OUT", "--quiet"]
    reference = tmp_path / "reference"
    reference.mkdir()
    durations = []
    for _ in range(2):  # the first run may be slowed by a cold disk cache
        started = time.perf_counter()
        subprocess.run(command, cwd=reference, check=True, capture_output=True)
        durations.append(time.perf_counter() - started)
    duration = min(durations)
    old = tmp_path / "old"
    assert main(["run", "--city", "salem", "--years", "1", "--seed", str(seed + 1), "--out", str(old),
                 "--quiet"]) == 0
    complete = {seed: _digests(reference / "OUT"), seed + 1: _digests(old)}

    seen = []
    moments = [duration * i / 11 for i in range(12)]
    for number, delay in enumerate(moments):
        work = tmp_path / f"kill{number}"
        work.mkdir()
        with_old = number % 2 == 1
        if with_old:
            shutil.copytree(old, work / "OUT")
        process = subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = _absent_or_complete(work / "OUT", complete)
        assert state in ((str(seed), str(seed + 1), "absent") if with_old else (str(seed), "absent")), state
        assert all(name == "OUT" or name.startswith(PARTIAL_PREFIX) for name in os.listdir(work))
        seen.append(state)
    assert seen[0] == "absent" and seen[1] == str(seed + 1)  # killed at once: nothing written, old folder kept


_KILL_HELPER = """
import json, os, shutil, signal, sys, types
from pathlib import Path

package = types.ModuleType("simcity_kids")  # only the plumbing: the package's heavy imports are not needed
package.__path__ = [sys.argv[1]]
sys.modules["simcity_kids"] = package
from simcity_kids.core import output

out, kill_at = Path(sys.argv[2]), int(sys.argv[3])
moments = 0

def moment():
    global moments
    moments += 1
    if moments == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

def counted(function):
    def call(*args, **kwargs):
        moment()
        result = function(*args, **kwargs)
        moment()
        return result
    return call

output.os.rename = counted(os.rename)
output.shutil.rmtree = counted(shutil.rmtree)

def write(folder):
    for name in ("outcomes.parquet", "outcomes.csv", "trace.csv"):
        with open(folder / name, "w") as handle:
            handle.write("new " * 1000)
            handle.flush()
            moment()
            handle.write("new " * 1000)
        moment()
    (folder / "manifest.json").write_text(json.dumps({"seed": "new"}))
    moment()

output.write_folder_atomically(out, write)
print(moments)
"""


@pytest.mark.slow
def test_killed_save_leaves_no_folder_or_a_complete_one(tmp_path):
    """Kills the save at every step: mid-file, between files, before, between and after the renames."""
    def contents(folder: Path) -> str:
        assert sorted(os.listdir(folder)) == sorted(RESULT_FILES), os.listdir(folder)
        seed = json.loads((folder / "manifest.json").read_text())["seed"]
        for name in RESULT_FILES - {"manifest.json"}:
            assert (folder / name).read_text() == f"{seed} " * 2000, (name, seed)
        return seed

    def attempt(kill_at: int) -> tuple[subprocess.CompletedProcess, Path, str]:
        work = tmp_path / f"kill{kill_at}"
        (work / "OUT").mkdir(parents=True)
        for name in RESULT_FILES - {"manifest.json"}:
            (work / "OUT" / name).write_text("old " * 2000)
        (work / "OUT" / "manifest.json").write_text(json.dumps({"seed": "old"}))
        done = subprocess.run([sys.executable, "-c", _KILL_HELPER, str(PACKAGE), str(work / "OUT"), str(kill_at)],
                              capture_output=True, text=True)
        state = contents(work / "OUT") if (work / "OUT").exists() else "absent"
        return done, work, state

    done, work, state = attempt(0)  # never killed: count the moments
    assert done.returncode == 0, done.stderr
    assert state == "new" and os.listdir(work) == ["OUT"]
    seen = []
    for kill_at in range(1, int(done.stdout) + 1):
        done, work, state = attempt(kill_at)
        assert done.returncode == -signal.SIGKILL, (kill_at, done.stderr)
        assert all(name == "OUT" or name.startswith(PARTIAL_PREFIX) for name in os.listdir(work))
        seen.append(state)
    assert seen[0] == "old" and seen[-1] == "new" and "absent" in seen, seen  # every stage was hit
