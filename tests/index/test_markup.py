"""Display text: markup removed for readers, every shown character mapped to its canonical offset."""
from __future__ import annotations

import pytest

from index.markup import display_span, display_text, plain
from app_support.text import highlight_quote, passage_in_context

from tests.conftest import SHIPPED

GMCA = "gmca-2020-05-04-prevent-response.txt"


@pytest.mark.parametrize("canonical, shown", [
    ("**Dear Home Secretary** ", "Dear Home Secretary "),
    ("under the * Counter Terrorism and Security Act 2015 *.", "under the Counter Terrorism and Security Act 2015."),
    ("4<sup>th</sup> May 2020", "4th May 2020"),
    ("[/Office of the PCC](https://www.facebook.com/x) and [@W](https://t.co/x)", "Office of the PCC and @W"),
    ("**Police & Crime\nCommissioner**", "Police & Crime\nCommissioner"),
    ("* item one\n* item _two_", "• item one\n• item two"),
    ("## Heading\ntext", "Heading\ntext"),
    ("a quote cut **inside bold", "a quote cut inside bold"),
    ("snake_case_names stay", "snake_case_names stay"),
    ("no markup at all: £6k, 3 * 4", "no markup at all: £6k, 3 * 4"),
])
def test_markup_is_removed(canonical, shown):
    assert display_text(canonical).text == shown


def test_every_shown_character_comes_from_its_canonical_offset():
    canonical = (SHIPPED / GMCA).read_text(encoding="utf-8")
    shown = display_text(canonical)
    assert len(shown.offsets) == len(shown.text) + 1 and shown.offsets[-1] == len(canonical)
    assert list(shown.offsets) == sorted(set(shown.offsets))
    for i, ch in enumerate(shown.text):
        assert ch == canonical[shown.offsets[i]] or ch == "•"
    assert "**" not in shown.text and "<sup>" not in shown.text


def test_canonical_spans_map_to_exactly_their_display_characters():
    canonical = "Dated 4<sup>th</sup> May 2020, **grants up to £6k** for groups."
    start = canonical.index("4<sup>")
    end = canonical.index(" 2020") + 5
    assert display_span(canonical, start, end) == "4th May 2020"
    start = canonical.index("£6k")
    assert display_span(canonical, start, start + 3) == "£6k"
    shown = display_text(canonical)
    a, b = shown.span(canonical.index("**grants"), canonical.index("k**") + 3)  # the span with its marks
    assert shown.text[a:b] == "grants up to £6k"
    assert shown.canonical_span(a, b) == (canonical.index("grants"), canonical.index("k**") + 1)


def test_highlight_is_exact_on_the_display_text():
    quote = "**Dear Home Secretary** the grant is **£6k** now"
    start = quote.index("£6k")
    md = highlight_quote(quote, 100, 100 + start, 100 + start + 3)
    assert ":orange-background[£6k]" in md and "\\*" not in md and "Dear Home Secretary" in md
    context = passage_in_context("Before. 4<sup>th</sup> May 2020 was the date. After.", 8, 31, 8, 31)
    assert ":orange-background[4th May 2020]" in context and "sup" not in context


def test_plain_gives_one_line():
    assert plain("**Dear**\n  <b>Sir</b>") == "Dear Sir"
