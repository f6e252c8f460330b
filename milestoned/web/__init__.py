"""The read-only web view: schedules, a schedule's unlock timeline, a beneficiary's claims, activity.

Layers, inwards to outwards:
- `snapshot`: one consistent, frozen picture of what the projections and the log say (no I/O);
- `viewmodels`, `timeline`: pure functions from a snapshot to what each page shows (also its JSON);
- `templates`, `chart`: pure functions from view models to HTML and inline SVG (stdlib only, escaped);
- `routes`: request → response (paths, queries, errors, headers), still pure given a snapshot;
- `source` and `server` (the shell): build snapshots from the running daemon and serve them through
  the daemon's own HTTP listener; `report` builds one from a replayed log for `milestonectl log report`.
"""
