"""The dashboard's front-end packages with no CDN: which ones the installed solara asks for, how a version is
resolved and a tarball unpacked, that setup left the cache complete, and a real page in headless Chromium."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from simcity_kids.dashboard import assets

ROOT = Path(__file__).resolve().parent.parent


def _tarball(files: dict[str, bytes]) -> bytes:
    """A gzipped tar holding ``files`` (name to content), as the npm registry serves a package."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_the_installed_solara_asks_for_its_vuetify_app_requirejs_and_font_awesome():
    specs = assets.solara_specs()
    assert any(spec.startswith("@widgetti/solara-vuetify-app@") for spec in specs), specs
    assert any(spec.startswith("requirejs@") for spec in specs), specs
    assert any(spec.startswith("font-awesome@") for spec in specs), specs
    assert all(re.fullmatch(r"(@[^/@]+/)?[^/@]+@[^/@]+", spec) for spec in specs), specs


def test_specs_are_found_in_templates_vue_files_and_python(tmp_path):
    (tmp_path / "page.html.j2").write_text('<script src="{{cdn}}/@scope/app@1.2.3/dist/app.js"></script>')
    (tmp_path / "widget.vue").write_text("require([`${this.getCdn()}/lib@4/build/lib.min.js`])")
    (tmp_path / "component.py").write_text('url = f"{cdn}/other@0.1.0-alpha.2/x.css"')
    (tmp_path / "notes.txt").write_text("{{cdn}}/ignored@1.0.0/x.js")
    assert {"@scope/app@1.2.3", "lib@4", "other@0.1.0-alpha.2"} <= set(assets.solara_specs(tmp_path))
    assert "ignored@1.0.0" not in assets.solara_specs(tmp_path)


def test_a_major_only_version_resolves_to_the_highest_release_of_that_major():
    metadata = {"versions": dict.fromkeys(["4.9.9", "5.2.0", "5.10.1", "5.9.30", "5.11.0-rc.1", "6.0.0"], {})}
    assert assets.resolve_version(metadata, "5") == "5.10.1"
    assert assets.resolve_version(metadata, "5.9") == "5.9.30"
    assert assets.resolve_version(metadata, "5.11.0-rc.1") == "5.11.0-rc.1"
    with pytest.raises(LookupError, match="7"):
        assets.resolve_version(metadata, "7")
    with pytest.raises(LookupError, match="latest"):
        assets.resolve_version(metadata, "latest")


def test_unpacking_strips_the_first_folder_and_refuses_members_outside_the_package(tmp_path):
    dest = tmp_path / "@scope" / "app@1.0.0"
    assets.unpack(_tarball({"package/package.json": b"{}", "package/dist/app.js": b"js"}), dest)
    assert (dest / "package.json").read_bytes() == b"{}"
    assert (dest / "dist" / "app.js").read_bytes() == b"js"

    escaping = tmp_path / "escaping@1.0.0"
    with pytest.raises(assets.AssetError, match=r"\.\./"):
        assets.unpack(_tarball({"package/ok.js": b"", "package/../../evil.js": b"x"}), escaping)
    assert not escaping.exists() and not (tmp_path / "evil.js").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["@scope"], "a temporary folder was left behind"


def test_setup_left_the_cache_complete():
    """``make`` fills the cache; ``--check`` exits 1 and lists the packages otherwise."""
    check = subprocess.run([sys.executable, "-m", "simcity_kids.dashboard.assets", "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.browser
def test_a_solara_page_works_in_chromium_with_no_cdn(serve_solara, page, save_screenshot):
    url, _log = serve_solara(ROOT / "tests" / "browser_app_smoke.py")
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    page.goto(url)
    page.get_by_role("button", name="Add one").click()
    page.get_by_text("Clicked 1 times").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    save_screenshot(page, "counter-and-plot")
    assert outside == [], "the page asked for something outside the server"
