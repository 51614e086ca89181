"""Screen texts in every supported language (``config/messages.toml``)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

LANGUAGES = ("zh_CN", "zh_TW", "en")


class Messages:
    """Looks up a text by language and key; a missing key is a bug, never shown as the key."""

    def __init__(self, table: dict[str, dict[str, str]]) -> None:
        self.table = table

    def text(self, language: str, key: str, **values: object) -> str:
        catalog = self.table.get(language) or self.table["zh_CN"]
        template = catalog.get(key)
        if template is None:
            template = self.table["zh_CN"][key]  # KeyError: a key no language has is a bug
        return template.format(**values) if values else template


@cache
def messages() -> Messages:
    raw = resources.files("config").joinpath("messages.toml").read_text(encoding="utf-8")
    return Messages(tomllib.loads(raw))
