"""Solara's front-end packages, fetched from the npm registry, so that the dashboard works with no CDN.

Solara's page loads its JavaScript and CSS packages (the Vuetify app, requirejs, font-awesome, ...) through its
own proxy, ``/_solara/cdn/<package@version>/<file>``, which serves them from
``solara.server.settings.assets.proxy_cache_dir`` and asks a public CDN only for what is missing there. A city
hall's network may block CDNs, so ``make`` fills that cache once, from the npm registry's tarballs:
``python -m simcity_kids.dashboard.assets`` (``--check`` only lists what is missing, and exits 1 if anything is).
The packages are those the installed solara refers to, read from its files, so a new solara needs no change here.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
# ``{{cdn}}/pkg@1.2.3`` in templates, ``${this.getCdn()}/pkg@1.2.3`` in Vue files, ``{cdn}/pkg@1.2.3`` in Python.
_SPEC_IN_SOURCE = re.compile(r"(?:cdn\}\}|getCdn\(\)\}|cdn\})/((?:@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+@[A-Za-z0-9._-]+)")
_SPEC_AT_START = re.compile(r"/?((?:@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+@[A-Za-z0-9._-]+)")
_SCANNED_SUFFIXES = {".vue", ".j2", ".html", ".js", ".py"}
_RELEASE = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_TIMEOUT_S = 60


class AssetError(RuntimeError):
    """A package that could not be fetched or unpacked; the message names the package, the URL and the cause."""


def cache_dir() -> Path:
    """Where the Solara server looks first (``SOLARA_ASSETS_PROXY_CACHE_DIR`` changes it, for the server too)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def solara_specs(root: Path | None = None) -> list[str]:
    """The ``package@version`` specs that Solara's page can ask its CDN proxy for, sorted.

    ``root`` is the folder to scan, by default the installed solara package; font-awesome's spec comes from the
    settings, since the page's link to it is built from ``settings.assets.fontawesome_path``.
    """
    from solara.server import settings

    if root is None:
        import solara

        root = Path(solara.__file__).parent
    specs = set()
    for path in root.rglob("*"):
        if path.suffix in _SCANNED_SUFFIXES and path.is_file():
            specs.update(_SPEC_IN_SOURCE.findall(path.read_text(encoding="utf-8", errors="replace")))
    fontawesome = _SPEC_AT_START.match(settings.assets.fontawesome_path)
    if fontawesome:
        specs.add(fontawesome.group(1))
    return sorted(specs)


def missing_specs(specs: Iterable[str], cache: Path) -> list[str]:
    """The specs with no folder in the cache (a folder only appears complete: see ``unpack``)."""
    return [spec for spec in specs if not (cache / spec).is_dir()]


def registry_url() -> str:
    """The npm registry that npm itself would use when configured by environment, with a trailing slash."""
    url = os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry") or DEFAULT_REGISTRY
    return url if url.endswith("/") else url + "/"


def resolve_version(metadata: Mapping[str, Any], wanted: str) -> str:
    """The published version that ``wanted`` names: itself if published, else for a partial version such as
    ``5`` or ``5.2`` the highest release (no prerelease) that starts with it, as ``npm pack vega@5`` picks."""
    versions = metadata.get("versions", {})
    if wanted in versions:
        return wanted
    prefix = wanted.split(".")
    if not all(part.isdigit() for part in prefix):
        raise LookupError(f"version {wanted!r} is not published")
    releases = [tuple(int(part) for part in match.groups()) for version in versions
                if (match := _RELEASE.fullmatch(version))]
    matching = [release for release in releases if [str(part) for part in release[:len(prefix)]] == prefix]
    if not matching:
        raise LookupError(f"no release matches version {wanted!r}")
    return ".".join(str(part) for part in max(matching))


def unpack(tarball: bytes, dest: Path) -> None:
    """Unpack an npm tarball into ``dest`` without its first path component (``package/``), as ``tar
    --strip-components=1`` does. The files go to a temporary folder that is then renamed, so ``dest`` exists only
    when complete (a crash or a concurrent fill never leaves half a package that the server would serve); a
    member that would land outside ``dest`` (``..``, an absolute path, a link) is refused."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
            members = []
            for member in tar.getmembers():
                parts = PurePosixPath(member.name).parts
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                    raise AssetError(f"refusing tar member {member.name!r}: it is not a plain file or folder inside "
                                     "the package")
                if len(parts) > 1:
                    members.append(member.replace(name="/".join(parts[1:]), deep=False))
            tar.extractall(tmp, members=members, filter="data")
        tmp.chmod(0o755)  # mkdtemp's 0o700 would hide the package from a server run by another user
        try:
            tmp.rename(dest)
        except OSError:
            if not dest.is_dir():  # else another fill got there first, with the same package
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _get(url: str, accept: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "simcity-kids"})
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        return response.read()


def _check_integrity(data: bytes, dist: Mapping[str, str]) -> None:
    """Compare a tarball with the registry's ``integrity`` (sha512) or, for old packages, ``shasum`` (sha1)."""
    integrity = dist.get("integrity", "")
    if integrity.startswith("sha512-"):
        expected, actual = integrity, "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    else:
        expected, actual = dist.get("shasum", ""), hashlib.sha1(data).hexdigest()
    if expected and actual != expected:
        raise ValueError(f"checksum mismatch: registry says {expected}, download has {actual}")


def fetch(spec: str, cache: Path, registry: str) -> None:
    """Put the package ``spec`` (``name@version``) into ``cache/spec``."""
    name, _, wanted = spec.rpartition("@")
    url = registry + urllib.parse.quote(name, safe="@")
    try:
        # The abbreviated document npm installs from: versions with their tarball URLs, without readmes.
        metadata = json.loads(_get(url, "application/vnd.npm.install-v1+json"))
        dist = metadata["versions"][resolve_version(metadata, wanted)]["dist"]
        url = dist["tarball"]
        tarball = _get(url, "application/octet-stream")
        _check_integrity(tarball, dist)
        unpack(tarball, cache / spec)
    except (OSError, http.client.HTTPException, ValueError, LookupError, tarfile.TarError, AssetError) as error:
        # urllib's errors are OSErrors; an HTTPError's text is its status line.
        raise AssetError(f"could not fetch {spec} from {url}: {error}") from error


def fill_cache(cache: Path | None = None, specs: Iterable[str] | None = None) -> list[str]:
    """Fetch the packages missing from the cache (by default Solara's, all it refers to); returns those fetched."""
    cache = cache_dir() if cache is None else cache
    missing = missing_specs(solara_specs() if specs is None else specs, cache)
    registry = registry_url()
    for spec in missing:
        fetch(spec, cache, registry)
    return missing


def main(argv: list[str] | None = None) -> int:
    """``python -m simcity_kids.dashboard.assets [--check]``: 0 when the cache is complete, 1 if not."""
    parser = argparse.ArgumentParser(prog="python -m simcity_kids.dashboard.assets", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only list the missing packages; exit 1 if any")
    args = parser.parse_args(argv)
    cache, specs = cache_dir(), solara_specs()
    if args.check:
        missing = missing_specs(specs, cache)
        for spec in missing:
            print(f"missing from the Solara CDN cache {cache}: {spec}", file=sys.stderr)
        return 1 if missing else 0
    try:
        fetched = fill_cache(cache, specs)
    except AssetError as error:
        print(f"error: {error} (the dashboard needs it with no CDN; set NPM_CONFIG_REGISTRY for a mirror)",
              file=sys.stderr)
        return 1
    print(f"Solara CDN cache: {len(specs)} front-end packages in {cache} ({len(fetched)} fetched from the npm "
          "registry)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
