"""Small plumbing for writing results: safe folder names, an output folder checked before the run, and a
folder written whole or not at all.

A run can take minutes and a user's scenario or city file names the default output folder, so a bad ``--out``
is refused before the simulation starts, names from files never lead outside the output folder, and a run
killed while saving leaves either no folder or a complete one, never a half CSV or a mix of two runs.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

from .validation import ConfigError

MAX_NAME = 80  # characters of one safe name; a folder name joins two of them and the seed
RESULT_FILES = frozenset({"outcomes.parquet", "outcomes.csv", "trace.csv", "manifest.json"})
MANIFEST = "manifest.json"
PARTIAL_PREFIX = ".simcity-partial-"  # hidden folders beside the output folder while it is written or replaced
PROBE_PREFIX = ".simcity-probe-"
ALLOWED = "allowed: a new folder, an empty folder or an earlier simcity-kids result folder (replaced whole)"


def safe_name(text: str, fallback: str) -> str:
    """``text`` as one lower-case folder name of ASCII letters, digits, '-' and '_' (accents dropped, anything
    else one '-'), so that a name from a user's file can never climb out of the output folder or name a device."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = "".join(ch if ch.isalnum() or ch == "_" else "-" for ch in ascii_text)
    while "--" in slug:
        slug = slug.replace("--", "-")
    slug = slug.strip("-_")[:MAX_NAME].strip("-_")
    return slug or fallback


def check_output_folder(path: str | Path, label: str = "--out") -> Path:
    """The resolved output folder, after making sure the results can be written there; raises ConfigError.

    Called before the simulation, so that a bad folder costs a second, not a whole run. Leaves no trace: parent
    folders it had to create for the write test are removed again."""
    text = os.fspath(path)
    if "\0" in text:
        raise ConfigError(label, "", f"must be a folder path without a NUL byte (got {text!r}); {ALLOWED}")
    try:
        folder = Path(text).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, an unreadable place
        raise ConfigError(label, "", f"cannot use {text!r} as a folder ({_reason(exc)}); {ALLOWED}") from None
    if folder.parent == folder:
        raise ConfigError(label, "", f"cannot replace the root folder {text!r}; {ALLOWED}")
    _check_name_length(folder, text, label)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigError(label, "", f"{text!r} is a file, not a folder; {ALLOWED}")
    if os.path.isdir(folder):
        _check_replaceable(folder, text, label)
    _probe_parent(folder.parent, text, label)
    return folder


def _check_replaceable(folder: Path, text: str, label: str) -> None:
    """Refuse a folder that is not ours to replace: only an empty one or an earlier result folder is."""
    try:
        entries = sorted(entry.name for entry in folder.iterdir())
    except OSError as exc:
        raise ConfigError(label, "", f"cannot read the folder {text!r} ({_reason(exc)}); {ALLOWED}") from None
    if entries and not _is_result_folder(folder, entries):
        others = [name for name in entries if name not in RESULT_FILES] or entries
        raise ConfigError(label, "", f"{text!r} is a folder holding other things ({', '.join(others[:3])}"
                                     f"{', ...' if len(others) > 3 else ''}) and is not replaced; {ALLOWED}")
    if not os.access(folder, os.W_OK | os.X_OK):  # renaming a folder aside needs write permission on it
        raise ConfigError(label, "", f"cannot replace {text!r} (permission denied); {ALLOWED}")


def _is_result_folder(folder: Path, entries: list[str]) -> bool:
    """An earlier run's folder: only the files a run writes, with a manifest naming a scenario and a seed."""
    if MANIFEST not in entries or not set(entries) <= RESULT_FILES:
        return False
    if not all((folder / name).is_file() and not (folder / name).is_symlink() for name in entries):
        return False
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and {"scenario", "seed", "config_hash"} <= manifest.keys()


def _check_name_length(folder: Path, text: str, label: str) -> None:
    """Refuse a final name the file system cannot hold, measured in its bytes as the file system counts."""
    existing = next(p for p in (folder.parent, *folder.parent.parents) if os.path.isdir(p))
    try:
        limit = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(folder.name)) > limit:
        raise ConfigError(label, "", f"folder name is {len(os.fsencode(folder.name))} bytes long, longer than the "
                                     f"{limit} the file system allows ({text[:40]!r}...); {ALLOWED}")


def _probe_parent(parent: Path, text: str, label: str) -> None:
    """Create the parent folders and a temporary folder in the parent, as the save will, then remove them."""
    missing = [p for p in (parent, *parent.parents) if not os.path.lexists(p)]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=PROBE_PREFIX))
    except (OSError, ValueError) as exc:
        raise ConfigError(label, "", f"cannot write a folder at {text!r} ({_reason(exc)}); {ALLOWED}") from None
    finally:
        for created in missing:  # deepest first; left alone if something else appeared in it meanwhile
            try:
                created.rmdir()
            except OSError:
                break


def _reason(exc: BaseException) -> str:
    """An OS error in a few words, without the path the message already shows."""
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return "a name is longer than the file system allows"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a parent is a file, not a folder"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def write_folder_atomically(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Fill a hidden temporary folder beside ``path`` with ``write(tmp)``, then rename it into place whole.

    An earlier folder at ``path`` (one check_output_folder allows) is renamed aside first and deleted after,
    so ``path`` is at every moment absent, the old folder or the new one, never a mix. ``write`` should write
    the manifest last. On any error the temporary folder is removed and the old folder is left as it was."""
    path = Path(path)
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=PARTIAL_PREFIX))
    try:
        write(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the result gets the usual permissions
        _sync_folder(tmp)
        if os.path.lexists(path):
            aside = Path(tempfile.mkdtemp(dir=parent, prefix=PARTIAL_PREFIX))
            os.rename(path, aside)  # POSIX: a folder may be renamed onto an empty folder
            try:
                os.rename(tmp, path)
            except BaseException:
                os.rename(aside, path)
                raise
            _sync(parent)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(tmp, path)
            _sync(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def write_file_atomically(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a hidden temporary file beside ``path`` (``PARTIAL_PREFIX``), flush it to disk and
    rename it into place: readers see no file or the whole file, never part of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{PARTIAL_PREFIX}{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync(path.parent)  # the rename itself reaches the disk
    return path


def _sync_folder(folder: Path) -> None:
    """Flush every file of ``folder`` and the folder itself to disk, so that the rename publishes whole files."""
    for entry in folder.iterdir():
        if entry.is_file():
            _sync(entry)
    _sync(folder)


def _sync(path: Path) -> None:
    """fsync a file or a folder (where the system allows opening folders)."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
