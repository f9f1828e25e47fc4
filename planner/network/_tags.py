"""Reading OSM tag values and element refs: names, numbers, sort keys (private to ``planner.network``).

Shared by the service-area, POI and place attachment and by the exports, so that a name or a
``capacity`` tag is read the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_CJK = re.compile(r"[\u3400-\u9fff]")


def first(value: object) -> object:
    """The first item of a list-valued attribute (simplified edges may carry lists), else the value."""
    return value[0] if isinstance(value, list) and value else value


def name(tags: Mapping[str, str], ref: str) -> str:
    """The element's name (``name``, ``name:zh``, ``name:en``), else ``unnamed <ref>``."""
    for key in ("name", "name:zh", "name:en"):
        if tags.get(key):
            return tags[key].strip()
    return f"unnamed {ref}"


def name_zh(tags: Mapping[str, str]) -> str | None:
    """The Chinese name: a ``name:zh*`` tag, else ``name`` when it is written in CJK characters."""
    for key in ("name:zh", "name:zh-Hans", "name:zh-CN"):
        if tags.get(key):
            return tags[key].strip()
    text = tags.get("name")
    return text.strip() if text and _CJK.search(text) else None


def ref_key(ref: str) -> tuple[int, int]:
    """Sort key of ``node/1``, ``way/2``, ``relation/3``: by type, then by number."""
    kind, _, num = ref.partition("/")
    return ({"node": 0, "way": 1, "relation": 2}.get(kind, 3), int(num) if num.lstrip("-").isdigit() else 0)


def short_ref(ref: str) -> str:
    """``way/456`` as ``w456``."""
    kind, _, num = ref.partition("/")
    return f"{kind[:1]}{num}"


def int_tag(value: str | None) -> int | None:
    """The leading integer of a tag value (``"150"``, ``"150 spaces"``), else None."""
    m = re.match(r"\s*(\d+)", value or "")
    return int(m.group(1)) if m else None


def float_tag(value: str | None) -> float | None:
    """The leading decimal number of a tag value, else None."""
    m = re.match(r"\s*(\d+(?:\.\d+)?)", value or "")
    return float(m.group(1)) if m else None
