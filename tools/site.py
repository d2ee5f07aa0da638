"""Build the course website: ``make site`` (or ``python -m tools.site``).

Every notebook of notebooks/ (in course order, by file name) becomes a page
with its stored outputs (never re-executed), next to a home page made from the
README and the instructor guide. Sphinx, myst-nb and sphinx-book-theme come
from requirements-dev.txt; the site loads nothing from another site.

    build/site/
        src/        the sources, staged with the repository's layout: copies of the
                    notebooks, figures and guide, and index.md made from README.md
        html/       the site: open html/index.html, or publish the folder
        vendor/     the widget manager's JavaScript, from the npm registry (once)

The labs' stored widgets are drawn by ``@jupyter-widgets/html-manager``
(``embed.js`` and its icon fonts), which no PyPI package ships: the first
build fetches that one package with ``npm pack`` and checks it against the
integrity hash pinned below. The pages serve it themselves (never from a CDN).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tools import site_pages

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "site"
DEFAULT_OUT = ROOT / "build" / "site"
VENDOR = DEFAULT_OUT / "vendor"
VENDOR_STATIC = VENDOR / "static"  # copied into the site's _static/
WIDGETS_DIR = "widgets"

#: The widget manager for static pages, matching ipywidgets 8 (widget protocol 2).
WIDGETS_PACKAGE = "@jupyter-widgets/html-manager"
WIDGETS_VERSION = "1.0.15"
WIDGETS_INTEGRITY = (
    "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//"
    "SABeNz1yp47bCrJ3CQA=="
)
#: What the pages need from the package: the bundle, its licences, its icon font.
WIDGETS_FILES = ("embed.js", "embed.js.LICENSE.txt")
WIDGETS_FONTS = ".woff2"


def widgets_js() -> dict[str, dict[str, str]]:
    """myst-nb's ``nb_ipywidgets_js``: the local widget bundle, on pages with widgets."""
    return {f"{WIDGETS_DIR}/embed.js": {}}


def integrity(data: bytes) -> str:
    """The npm registry's integrity string (sha512, base64) of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_widgets(vendor_static: Path = VENDOR_STATIC) -> Path:
    """The widget manager's files in ``vendor_static/widgets``, fetched with npm if missing."""
    target = vendor_static / WIDGETS_DIR
    stamp = target / f".{WIDGETS_VERSION}"
    if stamp.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"npm not found: the site needs {WIDGETS_PACKAGE} from the npm registry "
            "(install Node.js and npm, e.g. `apt-get install npm`)"
        )
    print(f"fetching {WIDGETS_PACKAGE}@{WIDGETS_VERSION} from the npm registry ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", "--loglevel=error", f"{WIDGETS_PACKAGE}@{WIDGETS_VERSION}"]
            + ["--pack-destination", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(tmp).glob("*.tgz")
        data = tarball.read_bytes()
        if integrity(data) != WIDGETS_INTEGRITY:
            raise RuntimeError(f"{tarball.name}: integrity {integrity(data)} is not the pinned one")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                name = Path(member.name).name
                if member.name.startswith("package/dist/") and (
                    name in WIDGETS_FILES or name.endswith(WIDGETS_FONTS)
                ):
                    (target / name).write_bytes(archive.extractfile(member).read())
    stamp.touch()
    return target


def _copy(source: Path, dest: Path) -> None:
    """Copy the file or folder ``source`` to ``dest``, leaving unchanged files alone.

    Copies, not links: myst resolves a page's links from its real path. Times
    are kept, so Sphinx rebuilds only the pages whose source changed.
    """
    if source.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        names = {p.name for p in source.iterdir() if not p.name.startswith(".")}
        for old in dest.iterdir():
            if old.name not in names:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        for name in sorted(names):
            _copy(source / name, dest / name)
        return
    same = dest.is_file() and (
        (dest.stat().st_size, dest.stat().st_mtime_ns)
        == (source.stat().st_size, source.stat().st_mtime_ns)
    )
    if not same:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text``, leaving the file (and its time, so Sphinx's cache) alone if equal."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def stage(src: Path) -> list[str]:
    """Lay the site's sources out in ``src``; return the staged pages (repository paths)."""
    pages = site_pages.page_paths()
    copies = {rel: ROOT / rel for rel in [*pages, *site_pages.ASSET_DIRS]}
    copies[site_pages.LOCAL_BADGE] = CONF_DIR / "binder-badge.svg"
    for old in (src / "notebooks").glob("*.ipynb"):
        if f"notebooks/{old.name}" not in copies:
            old.unlink()  # a notebook removed or renamed since the last build
    for rel, source in copies.items():
        _copy(source, src / rel)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = site_pages.landing_page(readme, site_pages.notebook_paths())
    _write_if_changed(src / "index.md", index)
    return pages


def sphinx_command(out: Path, strict: bool = True, fresh: bool = False) -> list[str]:
    """The sphinx-build command that writes ``out/html`` from ``out/src``."""
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CONF_DIR), "-q"]
    cmd += ["-d", str(out / "doctrees"), str(out / "src"), str(out / "html")]
    if strict:
        cmd += ["-W", "--keep-going"]
    if fresh:
        cmd += ["-E", "-a"]
    return cmd


def build(out: Path = DEFAULT_OUT, strict: bool = True, fresh: bool = False) -> float:
    """Stage the sources and build the site into ``out/html``; return the seconds it took.

    Raises ``subprocess.CalledProcessError`` if Sphinx fails (with ``strict``,
    on any warning; every warning is printed first), ``RuntimeError`` if the
    widget manager cannot be fetched.
    """
    fetch_widgets()
    started = time.monotonic()
    if fresh:
        for folder in ("html", "doctrees"):
            shutil.rmtree(out / folder, ignore_errors=True)
    stage(out / "src")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    subprocess.run(sphinx_command(out, strict, fresh), check=True, cwd=ROOT, env=env)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build folder")
    parser.add_argument("--no-strict", action="store_true", help="warnings do not fail the build")
    parser.add_argument("--fresh", action="store_true", help="rebuild every page")
    args = parser.parse_args(argv)
    try:
        seconds = build(args.out.resolve(), strict=not args.no_strict, fresh=args.fresh)
    except subprocess.CalledProcessError:
        print("site: the build failed (see the warnings above)", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    index = args.out.resolve() / "html" / "index.html"
    print(f"site built in {seconds:.1f} s: open {index}")
    print(f"  or serve it: python -m http.server -d {index.parent} 8000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
