#!/usr/bin/env python3
"""Copy front-end packages from node_modules into careline/web/static/vendor (git-ignored).

Run by `make static` after `npm ci`. Nothing third-party is committed to git.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
OUT = ROOT / "careline" / "web" / "static" / "vendor"

COPIES = [
    ("bootstrap/dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
    ("bootstrap/dist/js/bootstrap.bundle.min.js", "bootstrap/bootstrap.bundle.min.js"),
    ("bootstrap-icons/font/bootstrap-icons.min.css", "bootstrap-icons/bootstrap-icons.min.css"),
    ("bootstrap-icons/font/fonts", "bootstrap-icons/fonts"),
    ("echarts/dist/echarts.min.js", "echarts/echarts.min.js"),
    ("echarts/i18n/langVI.js", "echarts/langVI.js"),
    ("sortablejs/Sortable.min.js", "sortablejs/Sortable.min.js"),
]
FONT_WEIGHTS = ("400", "500", "600", "700")


def main() -> int:
    if not NODE.is_dir():
        print("node_modules is missing: run `npm ci` first", file=sys.stderr)
        return 1
    if OUT.exists():
        shutil.rmtree(OUT)
    for src, dst in COPIES:
        source, target = NODE / src, OUT / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    # Be Vietnam Pro: only the vietnamese + latin subsets, as one stylesheet.
    font_pkg = NODE / "@fontsource" / "be-vietnam-pro"
    fonts_out = OUT / "fonts"
    (fonts_out / "files").mkdir(parents=True, exist_ok=True)
    css_parts = []
    for weight in FONT_WEIGHTS:
        css = (font_pkg / f"{weight}.css").read_text(encoding="utf-8")
        for block in re.findall(r"/\*[^*]*\*/\s*@font-face\s*{[^}]*}", css):
            if not re.search(r"be-vietnam-pro-(vietnamese|latin)-\d+-normal", block):
                continue
            for name in re.findall(r"\./files/([\w.-]+)", block):
                shutil.copy2(font_pkg / "files" / name, fonts_out / "files" / name)
            css_parts.append(block)
    (fonts_out / "be-vietnam-pro.css").write_text("\n".join(css_parts) + "\n", encoding="utf-8")
    print(f"static assets copied to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
