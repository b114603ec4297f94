"""What must not reach a reader: leftovers of glue, pandas, BibTeX and MyST in a page's visible text.

``find_leftovers(text)`` returns every offending substring of the visible prose of a page; the browser test
(``test_book_pages.py``) runs it on every page of the built book, and ``test_leftovers.py`` checks the patterns
themselves on strings.
"""

from __future__ import annotations

import re

#: (name, pattern) pairs; each match is a leftover. Patterns are searched in the visible text of a page's prose and
#: cell outputs (code inputs excluded), after MathJax has typeset the math.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "unit(s)", "3 value(s)": a count glued without choosing singular or plural
    ("plural (s)", re.compile(r"\b[A-Za-z]{2,}\(s\)")),
    # a missing value printed as such: "nan", "NaN", "<NA>" (not "nanoseconds", not "np.nan(")
    ("nan", re.compile(r"(?<![\w.])(?:nan|NaN|NAN|<NA>)(?![\w(])")),
    # raw LaTeX from BibTeX fields or docstrings
    ("raw LaTeX", re.compile(r"\\(?:emph|textit|textbf|texttt|cite[tp]?|url|href)\b")),
    # MyST roles that were not rendered ({cite}`key`, {glue:text}`key`, {numref}`fig`, ...)
    ("unrendered role", re.compile(r"\{(?:cite|glue|numref|eq|doc|ref|term|math)(?::[a-z]+)?\}`?")),
    # a pointer to text no page renders
    ("module docstring", re.compile(r"(?i)module(?:'s)? docstring")),
    # a private function or class leaking through a rendered value ("{'relu': <function _relu>}")
    ("private name", re.compile(r"<(?:function|class|bound method) _\w+")),
    # a printed pandas Series or DataFrame summary instead of a formatted table
    ("pandas dtype", re.compile(r"\bdtype: (?:float|int|object|bool)\d*\b")),
    # a raw pandas column or index name ("mean_units_removed", "std_error") in a table or in prose: words of two or
    # more letters joined by underscores, not part of a path, a file name or a call ("x_0", "q_i" and "x86_64" are
    # not caught; code literals are replaced before this runs)
    ("raw column name", re.compile(r"(?<![/\w.])[a-z]{2,}[a-z0-9]*(?:_[a-z0-9]+)*_[a-z]{2,}[a-z0-9]*(?![\w.(\[])")),
    # a table cell or line cut short by pandas ("... (a learning c...")
    ("truncated", re.compile(r"\w(?:\.\.\.|\u2026)$")),
    # a glued value that rendered as nothing (a missing key, or a value the format could not take): the words
    # around it close up on the punctuation after it, "the fitted exponent is , and" (code and math are replaced
    # by a placeholder before this runs, so they cannot produce the gap)
    ("missing glue", re.compile(r"(?:\b[A-Za-z]+|=) [,;:.)](?=\s|$)")),
]

#: Pages on which a pattern is not a leftover: the library reference documents NaN as a value that functions
#: accept, reject or return, and names parameters and attributes in snake_case.
EXEMPT: dict[str, set[str]] = {"nan": {"book/api"}, "raw column name": {"book/api"}}

#: Pages whose current text still has leftovers that only their owners can fix, by page (as in ``_toc.yml``) and
#: matched string. Every entry is a known defect to be fixed in that page's source, after which it must be deleted
#: here: an empty dict is the goal. (book/api renders the library's docstrings; the notebooks are their chapters.)
ALLOWED: dict[str, set[str]] = {
    # To empty: each line says what to fix in that page's source.
}


def find_leftovers(text: str, page: str = "") -> list[tuple[str, str]]:
    """Every ``(pattern name, matched string)`` in ``text``, in the order of the patterns, skipping the patterns
    that ``EXEMPT`` lifts on ``page``."""
    return [(name, m.group(0)) for name, pattern in PATTERNS if page not in EXEMPT.get(name, set())
            for m in pattern.finditer(text)]


def unexpected(page: str, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The leftovers of ``page`` that its allow-list entry does not name."""
    allowed = ALLOWED.get(page, set())
    return [(name, match) for name, match in found if match not in allowed]
