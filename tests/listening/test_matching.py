"""Watchlist matching: whole words and phrases, any case, any word ending, never
inside another word."""

import pytest

from moderation.listening.services import matched_terms, own_words, stems_of


def matches(term: str, text: str) -> bool:
    return matched_terms(text, [(term, stems_of(term))]) == [term]


@pytest.mark.parametrize(
    "term, text",
    [
        ("price", "What is the price?"),
        ("price", "Your prices went up again"),
        ("price", "PRICE list please"),
        ("price", "Price."),
        ("price", "Can you share pricing for 50 seats"),
        ("prices", "what does the price look like"),  # the term's own ending does not matter
        ("quote", "Could we get a quote?"),
        ("quote", "We were quoted 40k last year"),
        ("upgrade", "Thinking about upgrading to Enterprise"),
        ("cancel", "We cancelled the pilot"),
        ("cancel", "How do I request cancellation?"),
        ("refund", "(refunds?)"),
        ("licence", "Licences for the new team"),
        ("switch to", "We are switching to another vendor"),
        ("switch to", "Switch To Acme, they said"),
        ("switch to", "a switch-to plan"),
        ("more seats", "we need more  seats next month"),
        ("café", "Meet at the cafe"),
        ("cafe", "Meet at the Café"),
        ("größe", "die Größe passt"),
        ("renew", "Renewal is due in March"),
    ],
)
def test_terms_match_whole_words_in_any_case_and_form(term, text):
    assert matches(term, text)


@pytest.mark.parametrize(
    "term, text",
    [
        ("price", "Your support is priceless"),
        ("price", "Ask for the pricelist"),  # one word, not two
        ("cancel", "This is uncancellable"),
        ("quote", "misquoted"),
        ("refund", ""),
        ("renew", "we brand new them"),
        ("switch to", "switch the plan to monthly"),  # the words, not next to each other
        ("switch to", "We switch. To be fair, it works."),  # a sentence ends between them
        ("switch to", "to switch"),
        ("more seats", "seats more"),
    ],
)
def test_substrings_separated_phrases_and_other_words_do_not_match(term, text):
    assert not matches(term, text)


def test_several_terms_report_each_one_that_matched_once():
    terms = [(t, stems_of(t)) for t in ("pricing", "quote", "cancel", "switch to")]
    text = "Pricing? Prices! Send a quote, or we switch to Acme."
    assert matched_terms(text, terms) == ["pricing", "quote", "switch to"]


def test_terms_without_words_never_match():
    assert stems_of("?!  --") == ""
    assert matched_terms("anything at all", [("?!", "")]) == []


def test_quotes_and_code_are_not_the_authors_own_words():
    text = own_words("> we will cancel\n\nThanks!\n\n```\ncancel()\n```\n")
    assert not matches("cancel", text)
    assert matches("thanks", text)
