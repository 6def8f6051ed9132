#!/usr/bin/env python3
"""Independent oracle for Essaim's rhythm engine (sync-core/src/rythme).

Reads JSON cases on stdin, writes the expected occurrences on stdout.
Rules are expanded by python-dateutil (rrulestr on naive local datetimes),
exclusions and added dates by dateutil's rruleset, and local times are turned
into instants by Python's zoneinfo, with the IANA data of the pinned `tzdata`
package (not the system's), so both sides use the same tz release.

Gap and fold handling: a naive local time gets fold=0. By PEP 495, fold=0
maps a time in a spring-forward gap with the offset in force *before* the
transition, which lands the instant after the gap: exactly RFC 5545's
"move forward by the gap". In a fall-back fold, fold=0 is the first, earlier,
instant, as RFC 5545 wants. `self_check` asserts both before anything else, so
a Python that behaves otherwise fails loudly instead of agreeing by accident.

Input:  {"cas": [{"id", "fuseau", "debut", "regle" (RRULE text or null),
                  "ajouts": [...], "exclusions": [...],
                  "pauses": [[du, au], ...], "du", "au"}]}
Output: {"resultats": {id: [[origine, debut_local, debut_utc], ...]}}
"""

import json
import sys

try:
    import dateutil
    import tzdata
    from dateutil.rrule import rrulestr, rruleset
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"ORACLE INDISPONIBLE: {e}. Run scripts/setup.sh (it installs "
          "python-dateutil and tzdata in target/rythme-oracle-venv).", file=sys.stderr)
    sys.exit(3)

import zoneinfo
from datetime import date, datetime, timedelta, timezone

zoneinfo.reset_tzpath(to=[])  # only the pinned tzdata package
from zoneinfo import ZoneInfo  # noqa: E402

WANTED = ("2.9.0.post0", "2026.6")
if (dateutil.__version__, tzdata.__version__) != WANTED:
    print(f"ORACLE INDISPONIBLE: need python-dateutil {WANTED[0]} and tzdata {WANTED[1]}, "
          f"found {dateutil.__version__} and {tzdata.__version__}. Run scripts/setup.sh.", file=sys.stderr)
    sys.exit(3)


def utc(naive, zone):
    return naive.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)


def self_check():
    paris = ZoneInfo("Europe/Paris")
    # 2026-03-29 02:30 does not exist in Paris: RFC 5545 says 03:30 CEST.
    assert utc(datetime(2026, 3, 29, 2, 30), paris) == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)
    # 2026-10-25 02:30 happens twice: RFC 5545 says the first (CEST).
    assert utc(datetime(2026, 10, 25, 2, 30), paris) == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)


def local(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S")


def instant(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def iso_utc(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_until(rule):
    """Removes UNTIL from the rule text; returns (text, predicate on a naive
    local datetime saying whether it is past UNTIL)."""
    parts, past = [], None
    for part in rule.split(";"):
        name, _, value = part.partition("=")
        if name != "UNTIL":
            parts.append(part)
        elif len(value) == 8:
            day = datetime.strptime(value, "%Y%m%d").date()
            past = ("day", day)
        elif value.endswith("Z"):
            past = ("utc", datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc))
        else:
            past = ("local", datetime.strptime(value, "%Y%m%dT%H%M%S"))
    return ";".join(parts) + ";WKST=MO", past


def expand(case):
    zone = ZoneInfo(case["fuseau"])
    start = local(case["debut"])
    lo, hi = instant(case["du"]), instant(case["au"])
    last_day = hi.date() + timedelta(days=3)
    origins = []
    if case["regle"] is None:
        origins.append(start)
    else:
        text, until = split_until(case["regle"])
        for occ in rrulestr(text, dtstart=start):
            if until is not None:
                kind, limit = until
                if (kind == "day" and occ.date() > limit) or (kind == "local" and occ > limit) \
                        or (kind == "utc" and utc(occ, zone) > limit):
                    break
            if occ.date() > last_day:
                break
            origins.append(occ)
    rset = rruleset()
    for o in origins:
        rset.rdate(o)
    for a in case["ajouts"]:
        rset.rdate(local(a))
    for x in case["exclusions"]:
        rset.exdate(local(x))
    pauses = [(date.fromisoformat(d), date.fromisoformat(a)) for d, a in case["pauses"]]
    out = []
    for o in rset:
        if any(d <= o.date() <= a for d, a in pauses):
            continue
        t = utc(o, zone)
        if lo <= t < hi:
            wall = t.astimezone(zone).replace(tzinfo=None)
            out.append([o.strftime("%Y-%m-%dT%H:%M:%S"), wall.strftime("%Y-%m-%dT%H:%M:%S"), iso_utc(t)])
    out.sort(key=lambda r: (r[2], r[0]))
    return out


def main():
    self_check()
    cases = json.load(sys.stdin)["cas"]
    json.dump({"resultats": {c["id"]: expand(c) for c in cases}}, sys.stdout)


if __name__ == "__main__":
    main()
