"""`python -m grokbench.board.job_summary BOARD_DIR --image-base URL`: the board's README for a
GitHub job summary.

GitHub's Markdown sanitizer drops `data:` image sources, in job summaries too, so figures can
neither be inlined nor linked inside the run's artifact (a zip). The weekly workflow pushes the
board's figures to a branch and passes that folder's URL as `--image-base`; every image link
of the README whose file exists in BOARD_DIR is rewritten to `URL/<its path>`; links to files
that are missing are kept and named on stderr, and absolute URLs are left alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

IMAGE_LINK = re.compile(r"(!\[[^\]]*\])\(([^)\s]+)\)")


def rewrite_images(text: str, board: Path, base: str) -> tuple[str, list[str]]:
    """(text with each existing image's link under `base`, the links left as they were)."""
    kept: list[str] = []

    def hosted(link: re.Match) -> str:
        label, path = link.groups()
        if "://" in path:  # hosted already
            return link.group(0)
        if not (board / path).is_file():
            kept.append(path)
            return link.group(0)
        return f"{label}({base.rstrip('/')}/{path})"

    return IMAGE_LINK.sub(hosted, text), kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grokbench.board.job_summary", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("board", type=Path, help="a board's output directory (its README.md and figures/)")
    parser.add_argument("--image-base", required=True,
                        help="URL of the folder that holds a copy of the board's files")
    options = parser.parse_args(argv)
    readme = options.board / "README.md"
    if not readme.is_file():
        print(f"error: {readme} does not exist; allowed: the --out directory of `grokbench board`", file=sys.stderr)
        return 2
    text, kept = rewrite_images(readme.read_text(), options.board, options.image_base)
    for path in kept:
        print(f"warning: image {path} is not a file in {options.board}; its link is kept", file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
