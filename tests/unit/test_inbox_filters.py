"""Parsing the inbox list's query arguments, search words, deadline flags, bulk selections."""
from datetime import date, datetime, timedelta, timezone

import pytest
from werkzeug.datastructures import MultiDict

from hpsmart.models import Channel, ReportStatus, Urgency
from hpsmart.services import deadlines
from hpsmart.services.inbox import (MAX_QUERY_LENGTH, MAX_QUERY_WORDS, InboxFilters, due_soon_bound,
                                    filters_from_query_string, local_midnight, parse_selection)
from hpsmart.services.search import fts_expression, terms
from hpsmart.text import search_document


@pytest.fixture()
def ctx(app):
    """A request context, so that notices (lazy strings) can be read."""
    with app.test_request_context():
        yield


def texts(filters: InboxFilters) -> list[str]:
    return [str(n) for n in filters.notices]


def test_no_arguments_is_the_default_list():
    filters = InboxFilters.from_args(MultiDict())
    assert filters == InboxFilters()
    assert filters.sort == "received" and filters.order == "desc" and filters.page == 1
    assert not filters.notices and not filters.active
    assert filters.query_string() == ""


def test_every_filter_is_parsed_and_round_trips(ctx):
    args = MultiDict([
        ("status", "routed"), ("status", "new"), ("status", "new"), ("category", "giao_thong"),
        ("agency", "12"), ("unit", "31135"), ("channel", "app"), ("urgency", "urgent"), ("due", "overdue"),
        ("assigned", "unassigned"), ("date_from", "2026-11-01"), ("date_to", "2026-11-30"),
        ("q", "  đường   Lạch Tray "), ("sort", "deadline"), ("order", "desc"), ("page", "3"),
    ])
    filters = InboxFilters.from_args(args)
    assert not filters.notices, texts(filters)
    # statuses: duplicates dropped, in the workflow's order whatever the URL's order
    assert filters.statuses == (ReportStatus.NEW, ReportStatus.ROUTED)
    assert (filters.category, filters.agency, filters.unit) == ("giao_thong", 12, "31135")
    assert (filters.channel, filters.urgency, filters.due, filters.assigned) == (
        Channel.APP, Urgency.URGENT, "overdue", "unassigned")
    assert (filters.date_from, filters.date_to) == (date(2026, 11, 1), date(2026, 11, 30))
    assert filters.q == "đường Lạch Tray"
    assert (filters.sort, filters.order, filters.page) == ("deadline", "desc", 3)
    again = filters_from_query_string(filters.query_string(filters.page))
    assert again == filters and again.page == 3
    assert filters.active


def test_query_string_leaves_defaults_out():
    filters = InboxFilters.from_args({"sort": "deadline", "order": "asc", "page": "1", "q": ""})
    assert filters.order == "asc"  # the usual direction for the deadline
    assert filters.query_string() == "sort=deadline"
    assert filters.query_string(page=2) == "sort=deadline&page=2"
    assert InboxFilters.from_args({"order": "asc"}).query_string() == "order=asc"


def test_a_plain_mapping_with_lists_is_accepted():
    filters = InboxFilters.from_args({"status": ["new", "accepted"], "agency": "mine"})
    assert filters.statuses == (ReportStatus.NEW, ReportStatus.ACCEPTED)
    assert filters.agency == "mine"


@pytest.mark.parametrize(("name", "value"), [
    ("status", "bogus"), ("status", "NEW"), ("category", "Giao thông'"), ("category", "x" * 60),
    ("agency", "abc"), ("agency", "-3"), ("agency", "99999999999"), ("unit", "ward 1"),
    ("channel", "fax"), ("urgency", "very"), ("due", "tomorrow"), ("assigned", "bob"),
    ("date_from", "30/11/2026"), ("date_to", "2026-02-30"), ("date_from", "2026-1-1"),
    ("sort", "title"), ("order", "sideways"), ("page", "0"), ("page", "-1"), ("page", "two"),
    ("page", "1e3"), ("page", "9" * 30), ("page", "²"), ("agency", "٣"), ("unit", "３１"), ("page", "1000000"),
])
def test_a_bad_value_is_ignored_with_a_notice(ctx, name, value):
    filters = InboxFilters.from_args(MultiDict([(name, value)]))
    assert len(filters.notices) == 1, texts(filters)
    assert texts(filters)[0]
    defaults = InboxFilters()
    assert filters == defaults  # nothing of the bad value was kept


def test_notice_repeats_a_shortened_bad_value(ctx):
    filters = InboxFilters.from_args({"channel": "<script>" + "x" * 100})
    (notice,) = texts(filters)
    assert "<script>" in notice and "x" * 60 not in notice  # escaped by the template, cut here


def test_dates_in_the_wrong_order_are_swapped_with_a_notice(ctx):
    filters = InboxFilters.from_args({"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert (filters.date_from, filters.date_to) == (date(2026, 11, 1), date(2026, 11, 30))
    assert len(filters.notices) == 1


def test_long_search_is_cut_with_a_notice(ctx):
    filters = InboxFilters.from_args({"q": "a" * (MAX_QUERY_LENGTH + 50)})
    assert len(filters.q) == MAX_QUERY_LENGTH and len(filters.notices) == 1
    many = " ".join(f"w{i}" for i in range(MAX_QUERY_WORDS + 3))
    filters = InboxFilters.from_args({"q": many})
    assert len(filters.q.split()) == MAX_QUERY_WORDS and len(filters.notices) == 1


def test_control_characters_are_dropped_from_the_search():
    assert InboxFilters.from_args({"q": "ổ\x00 gà\x07"}).q == "ổ gà"


def test_search_is_stored_in_nfc():
    nfd = "\u0111u\u031bo\u031b\u0300ng"  # "đường" typed decomposed (macOS, iOS)
    assert InboxFilters.from_args({"q": nfd}).q == "đường"


@pytest.mark.parametrize(("query", "words"), [
    ("ĐIỆN CHIẾU SÁNG", ["dien", "chieu", "sang"]),
    ("điện chiếu sáng", ["dien", "chieu", "sang"]),
    ("duong nguyen dinh chieu", ["duong", "nguyen", "dinh", "chieu"]),
    ("Đường Nguyễn Đình Chiểu", ["duong", "nguyen", "dinh", "chieu"]),
    ("\u0110a\u0300 Ka\u0301o", ["da", "kao"]),  # NFD
    ("da  da kao", ["da", "kao"]),
    ("HP-2026-000123", ["hp 2026 000123"]),
    ("Lạch-Tray, 50%", ["lach tray", "50"]),
    ("a_b -- ' \" *", ["a b"]),
    ("   ", []),
])
def test_search_terms_are_folded_like_search_text(query, words):
    assert terms(query) == words


def test_search_text_is_folded_tokens_each_after_a_space():
    assert search_document("HP-2026-000123", "Ổ gà  trên đường\nLạch Tray", None, "") == \
        " hp 2026 000123 o ga tren duong lach tray"
    assert search_document(None, "  ") == ""


def test_fts_query_is_a_phrase_prefix_per_term():
    assert fts_expression(terms("Đường Lạch-Tray")) == '"duong"* AND "lach tray"*'


def test_local_midnight_is_utc_seven_hours_earlier():
    assert local_midnight(date(2026, 11, 30)) == datetime(2026, 11, 29, 17, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("start", [
    datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc),   # Monday morning, local
    datetime(2026, 12, 4, 16, 30, tzinfo=timezone.utc),  # Friday 23:30 local
    datetime(2026, 12, 5, 18, 0, tzinfo=timezone.utc),   # Sunday 01:00 local
    datetime(2027, 2, 3, 3, 0, tzinfo=timezone.utc),     # just before Tết 2027
])
def test_due_soon_bound_agrees_with_working_days_left(start):
    """A deadline is "due soon" by the SQL bound exactly when at most 2 working days are left."""
    bound = due_soon_bound(start)
    for offset in range(0, 25):
        deadline = deadlines.end_of_local_day((start + timedelta(hours=7)).date() + timedelta(days=offset))
        if deadline < start:
            continue
        left = deadlines.working_days_between(start, deadline)
        assert (deadline < bound) == (left <= 2), (start, deadline, left)


def test_parse_selection():
    assert parse_selection(["12:3", "7", "12:4", "x", "5:y", " 9:1 ", ""]) == [(12, 3), (7, None), (9, 1)]
    assert len(parse_selection([str(i) for i in range(1, 500)])) == 100
