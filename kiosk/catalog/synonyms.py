"""How residents ask, as data: ``config/catalog/synonyms.toml`` (issue 20, search by intent).

One ``[search]`` table with:

- ``question``: words around a question that say nothing about the item (请问, 我想, 怎么办, 在哪里, ?);
  stripped from the start and end of a query;
- ``[[search.verbs]]``: a verb and the item kind it asks for (查/查询 → query, 打印/证明 → print,
  办/申请 → apply, 约/预约 → appointment, 认证/刷脸 → certification); stripped like a question word, and
  the items of that kind come first;
- ``[[search.same]]``: words that mean the same to a resident (看病 / 就医 / 医疗; 外国人 / 老外 / 境外人员;
  公积金 and its common typos); a query is also tried with each of them in place of the other;
- ``[[search.terms]]``: more names for one item (``item = "<code>"``) or one 一件事 bundle
  (``bundle = "<code>"``): searched like the item's own aliases (汉字, pinyin, initials, English);
- ``bundles``: words that ask for the 一件事 bundles themselves (一件事, one-stop).

Every list is given per language: ``zh_CN`` and ``en``; ``zh_TW`` only where Taiwan says it otherwise
(列印, 健保): 繁體 queries are converted to 简体 before matching, so the 简体 words cover them. The model
refuses unknown kinds, item or bundle codes, and a word given two meanings; each problem names the
file and the entry.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kiosk.catalog.model import CatalogProblem, Kind

Word = str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Words(_Model):
    """Words in each language; ``zh_TW`` only where Taiwan wording differs from 简体 converted."""

    zh_CN: tuple[str, ...] = ()
    zh_TW: tuple[str, ...] = ()
    en: tuple[str, ...] = ()

    def all(self) -> Iterator[str]:
        yield from self.zh_CN
        yield from self.zh_TW
        yield from self.en

    @model_validator(mode="after")
    def _no_empty_words(self) -> Words:
        for word in self.all():
            if not word.strip():
                raise ValueError("an empty word")
        return self


class _InAllLanguages(Words):
    @model_validator(mode="after")
    def _both_languages(self) -> _InAllLanguages:
        if not self.zh_CN or not self.en:
            raise ValueError("needs words in zh_CN and en (zh_TW is derived unless Taiwan says it otherwise)")
        return self


class Verb(_InAllLanguages):
    """A verb and the item kind it asks for."""

    kind: Kind


class Same(Words):
    """Words that mean the same to a resident."""

    @model_validator(mode="after")
    def _at_least_two(self) -> Same:
        if len(set(self.all())) < 2:
            raise ValueError("a group of the same words needs at least two")
        return self


class Term(Words):
    """More names for one item or one bundle."""

    item: str | None = None
    bundle: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Term:
        if (self.item is None) == (self.bundle is None):
            raise ValueError("give exactly one of item or bundle")
        if not any(True for _ in self.all()):
            raise ValueError("no words")
        return self

    @property
    def target(self) -> str:
        return self.item if self.item is not None else f"bundle:{self.bundle}"


class SearchWords(_Model):
    """The whole ``[search]`` table."""

    question: _InAllLanguages
    verbs: tuple[Verb, ...] = Field(min_length=1)
    same: tuple[Same, ...] = ()
    terms: tuple[Term, ...] = ()
    bundles: _InAllLanguages


def check_search_words(words: SearchWords, file: str, item_codes: set[str],
                       bundle_codes: set[str]) -> list[CatalogProblem]:
    """Problems across entries: unknown item or bundle codes, a word that is both a question word and a
    verb, or a verb of two kinds."""
    problems: list[CatalogProblem] = []
    for n, term in enumerate(words.terms):
        where = f"search.terms[{n}]"
        if term.item is not None and term.item not in item_codes:
            problems.append(CatalogProblem(file, where, "item", f"unknown item code {term.item!r}"))
        if term.bundle is not None and term.bundle not in bundle_codes:
            problems.append(CatalogProblem(file, where, "bundle", f"unknown bundle code {term.bundle!r}"))
    meaning: dict[str, str] = {}
    for word in words.question.all():
        meaning[word.casefold()] = "a question word"
    for n, verb in enumerate(words.verbs):
        for word in verb.all():
            key, said = word.casefold(), f"a {verb.kind} verb"
            if meaning.get(key, said) != said:
                problems.append(CatalogProblem(file, f"search.verbs[{n}]", "words",
                                               f"{word!r} is {said} and {meaning[key]}"))
            meaning[key] = said
    return problems
