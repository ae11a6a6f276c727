"""Five-field cron in IANA time zones (shared/cron.py): parsing, the day rule, and due times
across time zones and daylight saving time, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.cron import CronError, latest_due, local_to_utc, next_due, parse_cron, parse_time_zone

WARSAW = parse_time_zone("Europe/Warsaw")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def occurrences(expression: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Every occurrence in (start, end], found by stepping next_due."""
    cron, tz = parse_cron(expression), parse_time_zone(zone)
    found: list[datetime] = []
    moment = next_due(cron, tz, after=start)
    while moment is not None and moment <= end:
        found.append(moment)
        moment = next_due(cron, tz, after=moment)
    return found


@pytest.mark.parametrize(
    ("expression", "minutes", "hours", "days", "months", "weekdays"),
    [
        ("0 6 * * 1", {0}, {6}, set(range(1, 32)), set(range(1, 13)), {1}),
        (
            "*/15 8-17 1,15 jan-mar mon-fri",
            {0, 15, 30, 45},
            set(range(8, 18)),
            {1, 15},
            {1, 2, 3},
            {1, 2, 3, 4, 5},
        ),
        ("5/20 0-12/6 * * 7", {5, 25, 45}, {0, 6, 12}, set(range(1, 32)), set(range(1, 13)), {0}),
        ("0 0 * * 5-7", {0}, {0}, set(range(1, 32)), set(range(1, 13)), {5, 6, 0}),
        ("@weekly", {0}, {0}, set(range(1, 32)), set(range(1, 13)), {0}),
        ("  0   12 * *   SAT ", {0}, {12}, set(range(1, 32)), set(range(1, 13)), {6}),
    ],
)
def test_fields_names_ranges_steps_and_macros(expression, minutes, hours, days, months, weekdays):
    cron = parse_cron(expression)
    assert (set(cron.minutes), set(cron.hours), set(cron.days), set(cron.months), set(cron.weekdays)) == (
        minutes, hours, days, months, weekdays,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("0 */15 * * * *", "5 fields"),  # NCRONTAB with seconds is the host's, not a schedule's
        ("0 6 * *", "5 fields"),
        ("60 6 * * *", "minute: 60 is outside 0-59"),
        ("0 24 * * *", "hour: 24 is outside 0-23"),
        ("0 6 0 * *", "day of month: 0 is outside 1-31"),
        ("0 6 * 13 *", "month: 13 is outside 1-12"),
        ("0 6 * * 8", "day of week: 8 is outside 0-7"),
        ("0 6 * * funday", "day of week: 'funday' is not a number"),
        ("*/0 6 * * *", "the step '0' must be a whole number above 0"),
        ("0 6-2 * * *", "runs backwards"),
        ("0 6 ,1 * *", "an empty item"),
        ("0 0 30 2 *", "never matches a day"),
        ("0 0 31 4,6,9,11 *", "never matches a day"),
        ("", "is required"),
        ("0 \u0666 * * *", "is not a number"),  # an Arabic-Indic digit: isdigit() says yes, cron says no
    ],
)
def test_bad_expressions_say_what_is_wrong(expression, says):
    with pytest.raises(CronError) as caught:
        parse_cron(expression)
    assert says in str(caught.value)


def test_both_day_fields_restricted_match_either_one():
    # The 13th of the month or any Friday (Vixie cron and POSIX), not Friday the 13th only.
    days = occurrences("0 12 13 * 5", "UTC", utc(2026, 2, 1), utc(2026, 3, 1))
    assert [d.day for d in days] == [6, 13, 20, 27]
    only_weekday = occurrences("0 12 * * 5", "UTC", utc(2026, 2, 1), utc(2026, 3, 1))
    assert [d.day for d in only_weekday] == [6, 13, 20, 27]
    only_day = occurrences("0 12 13 * *", "UTC", utc(2026, 2, 1), utc(2026, 3, 1))
    assert [d.day for d in only_day] == [13]


def test_time_zones_are_validated_with_the_iana_database():
    assert parse_time_zone("Europe/Warsaw").key == "Europe/Warsaw"
    assert parse_time_zone("UTC").key == "UTC"
    for bad in ("Europe/Nowhere", "CET+1", "../../etc/passwd", "", "x" * 65, "/etc/localtime"):
        with pytest.raises(CronError, match="timeZone"):
            parse_time_zone(bad)


def test_the_same_wall_clock_time_in_different_zones():
    after, end = utc(2026, 1, 4), utc(2026, 1, 6)  # a Monday in winter
    mondays_at_nine = {
        zone: occurrences("0 9 * * 1", zone, after, end)
        for zone in ("Europe/Warsaw", "America/New_York", "Asia/Kolkata", "UTC")
    }
    assert mondays_at_nine == {
        "Europe/Warsaw": [utc(2026, 1, 5, 8, 0)],  # CET, UTC+1
        "America/New_York": [utc(2026, 1, 5, 14, 0)],  # EST, UTC-5
        "Asia/Kolkata": [utc(2026, 1, 5, 3, 30)],  # IST, UTC+5:30, no DST
        "UTC": [utc(2026, 1, 5, 9, 0)],
    }


def test_a_daily_time_follows_daylight_saving_time():
    winter = occurrences("0 9 * * *", "Europe/Warsaw", utc(2026, 3, 27), utc(2026, 3, 31))
    # 27 and 28 March in CET (UTC+1); from 29 March (the last Sunday) in CEST (UTC+2).
    assert winter == [utc(2026, 3, 27, 8), utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    autumn = occurrences("0 9 * * *", "Europe/Warsaw", utc(2026, 10, 24), utc(2026, 10, 27))
    assert autumn == [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]


def test_a_0230_schedule_on_the_night_clocks_go_forward_fires_once_an_hour_later():
    # 29 March 2026, Warsaw: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that night.
    runs = occurrences("30 2 * * *", "Europe/Warsaw", utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    assert runs == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 30),  # the missing 02:30 runs at 03:30 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    assert utc(2026, 3, 29, 1, 30).astimezone(WARSAW).strftime("%H:%M %Z") == "03:30 CEST"


def test_a_0230_schedule_on_the_night_clocks_go_back_fires_once_the_first_time():
    # 25 October 2026, Warsaw: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    runs = occurrences("30 2 * * *", "Europe/Warsaw", utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    assert runs == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert runs[0].astimezone(WARSAW).strftime("%H:%M %Z") == "02:30 CEST"


def test_every_quarter_hour_across_both_changes_has_no_duplicates_and_no_missing_wall_times():
    spring = occurrences("*/15 * * * *", "Europe/Warsaw", utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 2, 0))
    # 01:15 .. 01:45 CET, then 03:00 CEST: the gap 02:00-02:45 lands on 03:00-03:45 (as late as
    # the jump), where the real 03:xx times already are: each instant once.
    assert spring == [utc(2026, 3, 29, 0, 15), utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 0, 45),
                      utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 15), utc(2026, 3, 29, 1, 30),
                      utc(2026, 3, 29, 1, 45), utc(2026, 3, 29, 2, 0)]  # fmt: skip
    assert len(set(spring)) == len(spring)
    autumn = occurrences("*/15 * * * *", "Europe/Warsaw", utc(2026, 10, 24, 23, 45), utc(2026, 10, 25, 2, 0))
    # 02:00-02:45 CEST fire; the repeated 02:00-02:45 CET hour does not fire again.
    local = [t.astimezone(WARSAW).strftime("%H:%M %Z") for t in autumn]
    assert local[:4] == ["02:00 CEST", "02:15 CEST", "02:30 CEST", "02:45 CEST"]
    assert local[4] == "03:00 CET"
    assert autumn[4] - autumn[3] == timedelta(hours=1, minutes=15)


def test_local_to_utc_moves_a_skipped_time_forward_and_takes_a_repeated_time_first():
    assert local_to_utc(datetime(2026, 3, 29, 2, 30), WARSAW) == utc(2026, 3, 29, 1, 30)
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), WARSAW) == utc(2026, 10, 25, 0, 30)


def test_latest_due_is_the_latest_occurrence_only_and_the_window_is_half_open():
    hourly, zone = parse_cron("0 * * * *"), parse_time_zone("UTC")
    # Down from 10:00 to 15:20: five occurrences missed, the latest is the one to run.
    assert latest_due(hourly, zone, after=utc(2026, 5, 1, 10), now=utc(2026, 5, 1, 15, 20)) == utc(
        2026, 5, 1, 15
    )
    assert latest_due(hourly, zone, after=utc(2026, 5, 1, 15), now=utc(2026, 5, 1, 15, 59)) is None
    assert latest_due(hourly, zone, after=utc(2026, 5, 1, 15), now=utc(2026, 5, 1, 16)) == utc(2026, 5, 1, 16)
    assert latest_due(hourly, zone, after=utc(2026, 5, 1, 16), now=utc(2026, 5, 1, 16)) is None
    yearly = parse_cron("0 0 1 1 *")
    assert latest_due(yearly, WARSAW, after=utc(2020, 6, 1), now=utc(2026, 6, 1)) == utc(2025, 12, 31, 23)


def test_next_due_finds_rare_days_far_ahead():
    leap_day = parse_cron("0 0 29 2 *")
    assert next_due(leap_day, parse_time_zone("UTC"), after=utc(2026, 3, 1)) == utc(2028, 2, 29)
