"""``-k EXPR``: select claims by a keyword expression, as pytest selects tests.

An expression is made of words joined by ``and``, ``or``, ``not`` and parentheses; a word matches a claim
when it is a case-insensitive substring of the claim's id (``family.name``). Examples: ``gd``,
``separable and not multiclass``, ``(l1 or l2) and rademacher``. The expression is parsed here, never
evaluated as Python.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from theorycheck.errors import InputError

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
_KEYWORDS = ("and", "or", "not")


def _tokens(expr: str) -> list[str]:
    tokens, pos = [], 0
    expr = expr.rstrip()
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:  # pragma: no cover - the pattern matches any non-space run
            raise InputError(f"-k {expr!r}: cannot read it at position {pos}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


def compile_keywords(expr: str) -> Callable[[str], bool]:
    """A predicate on claim ids; InputError (naming ``-k``) for an empty or malformed expression."""
    tokens = _tokens(expr)
    if not tokens:
        raise InputError("-k needs an expression, e.g. -k 'separable and not multiclass'")
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise InputError(f"-k {expr!r}: ends where a word or '(' was expected")
        if expected is not None and token != expected:
            raise InputError(f"-k {expr!r}: expected {expected!r}, found {token!r}")
        position += 1
        return token

    def disjunction() -> Callable[[str], bool]:
        terms = [conjunction()]
        while peek() == "or":
            take()
            terms.append(conjunction())
        return lambda text: any(term(text) for term in terms)

    def conjunction() -> Callable[[str], bool]:
        factors = [negation()]
        while peek() == "and":
            take()
            factors.append(negation())
        return lambda text: all(factor(text) for factor in factors)

    def negation() -> Callable[[str], bool]:
        if peek() == "not":
            take()
            inner = negation()
            return lambda text: not inner(text)
        return atom()

    def atom() -> Callable[[str], bool]:
        token = take()
        if token == "(":
            inner = disjunction()
            take(")")
            return inner
        if token in _KEYWORDS or token == ")":
            raise InputError(f"-k {expr!r}: unexpected {token!r}")
        word = token.lower()
        return lambda text: word in text.lower()

    predicate = disjunction()
    if peek() is not None:
        raise InputError(f"-k {expr!r}: unexpected {peek()!r}")
    return predicate


def select(ids: Iterable[str], expr: str | None) -> list[str]:
    """The ids that match ``expr`` (all of them when ``expr`` is None)."""
    ids = list(ids)
    if expr is None:
        return ids
    predicate = compile_keywords(expr)
    return [i for i in ids if predicate(i)]
