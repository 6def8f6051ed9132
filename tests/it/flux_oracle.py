#!/usr/bin/env python3
"""Independent reader of Essaim's public calendar feeds (sync-core/src/flux).

Reads JSON on stdin: {"ics": full feed, "compat": expanded feed, "du", "au"}
(instants as YYYY-MM-DDTHH:MM:SSZ). Parses each feed with `icalendar`,
expands it with `recurring-ical-events` over [du, au), and writes on stdout
{"ics": [...], "ics_vtimezone": [...], "compat": [...], "versions": {...}},
each a sorted list of [uid base, start UTC, end UTC, cancelled] for every
occurrence whose start is in [du, au).

- "ics" reads the full feed as calendar apps that know IANA names do:
  icalendar resolves TZID=Europe/Paris with zoneinfo (the pinned tzdata).
- "ics_vtimezone" renames every TZID to a name no database knows, so the
  times can only be resolved through the feed's own VTIMEZONE components:
  this checks the VTIMEZONEs Essaim writes. One known disagreement: a local
  start that does not exist (in a spring-forward gap) is resolved by
  icalendar 7.3.2's VTIMEZONE time zones with the offset *after* the gap
  (02:30 in Paris on 29 March 2026 becomes 00:30 UTC), whereas RFC 5545
  3.3.5 says "the UTC offset before the gap" (01:30 UTC, what zoneinfo and
  Essaim do). Those occurrences are left out of "ics_vtimezone" and listed
  in "vtimezone_gap" as [uid base, local start]; the Rust test checks that
  they are exactly the engine's gap occurrences.
- "compat" reads the expanded feed; its per-occurrence UIDs
  (`action-x-20260121T183000@doc`) are reduced to their base (`action-x@doc`).

End instants: a DURATION of hours and minutes is exact time (RFC 5545
3.3.6), so the end is the start's UTC instant plus the DURATION written in the
feed (the override's, else the master's). recurring-ical-events 3.8.2 gives
each occurrence a DTEND computed with Python's aware arithmetic, which adds
the duration to the wall clock: for an occurrence spanning a DST change that
end is an hour off (a 02:30 start in the spring gap even ends when it
starts), so the script does not use it. With DTEND in the feed (compat), the
end is DTEND's instant.

Cancelled occurrences (STATUS:CANCELLED) are kept and flagged, the rule the
Rust side uses too.
"""

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from importlib.metadata import version

try:
    import icalendar
    import recurring_ical_events
    import tzdata  # noqa: F401  (the pinned IANA data for zoneinfo)
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"ORACLE INDISPONIBLE: {e}. Run scripts/setup.sh (it installs "
          "icalendar and recurring-ical-events in target/rythme-oracle-venv).", file=sys.stderr)
    sys.exit(3)

import zoneinfo

zoneinfo.reset_tzpath(to=[])  # only the pinned tzdata package

WANTED = {"icalendar": "7.3.2", "recurring-ical-events": "3.8.2", "tzdata": "2026.6"}
FOUND = {name: version(name) for name in WANTED}
if FOUND != WANTED:
    print(f"ORACLE INDISPONIBLE: need {WANTED}, found {FOUND}. Run scripts/setup.sh.", file=sys.stderr)
    sys.exit(3)


def instant(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def iso_utc(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def uid_base(uid):
    return re.sub(r"-\d{8}T\d{6}(?=@)", "", uid)


def rename_tzids(text):
    """Returns the text with unknown TZIDs, and the real zone of each UID."""
    names = sorted(set(re.findall(r"^TZID:(.+?)\r$", text, flags=re.M)))
    assert names, "the full feed has VTIMEZONEs"
    zones = {}
    for ev in icalendar.Calendar.from_ical(text).walk("VEVENT"):
        zones[str(ev["UID"])] = ev["DTSTART"].params["TZID"]
    for i, name in enumerate(names):
        text = text.replace(f"TZID:{name}\r", f"TZID:Essaim-Fuseau-{i}\r")
        text = text.replace(f"TZID={name}:", f"TZID=Essaim-Fuseau-{i}:")
        text = text.replace(f"TZID={name};", f"TZID=Essaim-Fuseau-{i};")
    assert not any(n in text for n in names), "every TZID renamed"
    return text, zones


def in_gap(naive, zone_name):
    zone = zoneinfo.ZoneInfo(zone_name)
    back = naive.replace(tzinfo=zone).astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    return back != naive


def recurrence_key(component):
    rid = component.get("RECURRENCE-ID")
    return None if rid is None else rid.dt.astimezone(timezone.utc)


def expand(text, lo, hi, zones=None, gaps=None):
    cal = icalendar.Calendar.from_ical(text)
    durations = {}
    for ev in cal.walk("VEVENT"):
        if "DURATION" in ev:
            durations[(str(ev["UID"]), recurrence_key(ev))] = ev["DURATION"].dt
    out = []
    for occ in recurring_ical_events.of(cal).between(lo, hi):
        start = occ["DTSTART"].dt
        assert isinstance(start, datetime) and start.tzinfo is not None, f"aware start: {occ['UID']}"
        uid = str(occ["UID"])
        start = start.astimezone(timezone.utc)
        duration = durations.get((uid, recurrence_key(occ)), durations.get((uid, None)))
        if duration is not None:
            end = start + duration
        else:
            end = occ["DTEND"].dt.astimezone(timezone.utc)
        if not lo <= start < hi:
            continue
        if zones is not None:
            local = occ["DTSTART"].dt.replace(tzinfo=None)
            if in_gap(local, zones[uid]):
                gaps.append([uid_base(uid), local.strftime("%Y-%m-%dT%H:%M:%S")])
                continue
        cancelled = str(occ.get("STATUS", "CONFIRMED")).upper() == "CANCELLED"
        out.append([uid_base(str(occ["UID"])), iso_utc(start), iso_utc(end), cancelled])
    out.sort()
    return out


def main():
    data = json.load(sys.stdin)
    lo, hi = instant(data["du"]), instant(data["au"])
    renamed, zones = rename_tzids(data["ics"])
    gaps = []
    json.dump({
        "ics": expand(data["ics"], lo, hi),
        "ics_vtimezone": expand(renamed, lo, hi, zones, gaps),
        "vtimezone_gap": sorted(gaps),
        "compat": expand(data["compat"], lo, hi),
        "versions": FOUND,
    }, sys.stdout)


if __name__ == "__main__":
    main()
