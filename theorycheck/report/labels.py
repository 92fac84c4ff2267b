"""Short names for checks, cells and files: what a table cell or a file name can hold."""

from __future__ import annotations

import re
from typing import Any, Sequence

#: characters after which a check name's qualifier starts (at bracket depth 0): "gap at T (rel. error)"
_QUALIFIERS = (" (", " [", ", ", ": ", "; ")


def short_label(name: str, width: int = 28) -> str:
    """The head of a check name: up to its first top-level qualifier, at most ``width`` characters.

    ``"corr(W(t), SVM of selection), all runs"`` -> ``"corr(W(t), SVM of selection)"``;
    ``"GD limit = argmin Q_alpha (Richardson in h, worst alpha)"`` -> ``"GD limit = argmin Q_alpha"``.
    """
    depth = 0
    cut = len(name)
    for i, ch in enumerate(name):
        if depth == 0 and i > 0 and any(name.startswith(q, i) for q in _QUALIFIERS):
            cut = i
            break
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
    head = name[:cut].strip() or name
    return head if len(head) <= width else head[: width - 1].rstrip() + "…"


def file_slug(text: str, width: int = 40) -> str:
    """A short lower-case file-name part: letters, digits and single dashes."""
    slug = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    slug = slug[:width].rstrip("-.")
    return slug or "x"


def unique_slugs(names: Sequence[str], width: int = 40) -> list[str]:
    """:func:`file_slug` of each check's short label, made unique by a numeric suffix."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        slug = file_slug(short_label(name, width), width)
        seen[slug] = seen.get(slug, 0) + 1
        out.append(slug if seen[slug] == 1 else f"{slug}-{seen[slug]}")
    return out


def format_number(value: Any) -> str:
    """A parameter value as a cell label writes it: floats with up to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ",".join(format_number(v) for v in value)
    return str(value)


def cell_tag(params: dict[str, Any], names: Sequence[str]) -> str:
    """A sweep cell in a file name: ``lr=0.5_n=50``."""
    return "_".join(f"{file_slug(name)}={file_slug(format_number(params[name]), 16)}" for name in names
                    if name in params)
