"""The service catalog: which self-service items this terminal offers.

The walking skeleton ships a handful of print items (``config/catalog.toml``); the full
292-item catalog, search and life-event bundles build on this model.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Language = Literal["zh_CN", "zh_TW", "en"]


class LocalizedText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh_CN: str = Field(min_length=1)
    zh_TW: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        return str(getattr(self, language, self.zh_CN))


class ServiceItem(BaseModel):
    """One self-service item (事项)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    code: str = Field(pattern=r"^[a-z0-9-]+$")
    """Stable item code shared with the platform."""
    department: str
    """Owning department, e.g. 人社, 医保, 公积金, 公安."""
    kind: Literal["guide", "query", "print", "apply", "appointment", "certification"]
    """How the item flows on a terminal (DOMAIN.md, item kinds)."""
    name: LocalizedText
    """Display name in every supported language."""


class CatalogError(Exception):
    """The catalog file is missing or malformed; the message names the file and the entry."""


class Catalog:
    """Items by code, in display order."""

    def __init__(self, items: list[ServiceItem]) -> None:
        self.items = items
        self._by_code = {item.code: item for item in items}
        if len(self._by_code) != len(items):
            raise CatalogError("duplicate item codes in catalog")

    def get(self, code: str) -> ServiceItem | None:
        return self._by_code.get(code)

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        source = str(path) if path else "<packaged catalog.toml>"
        try:
            text = path.read_text(encoding="utf-8") if path else (
                resources.files("config").joinpath("catalog.toml").read_text(encoding="utf-8"))
            raw = tomllib.loads(text)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CatalogError(f"{source}: {exc}") from exc
        items = []
        for index, entry in enumerate(raw.get("items", [])):
            try:
                items.append(ServiceItem.model_validate(entry))
            except ValidationError as exc:
                first = exc.errors()[0]
                key = ".".join(str(p) for p in first["loc"])
                raise CatalogError(f"{source}: items[{index}].{key}: {first['msg']}") from None
        return cls(items)
