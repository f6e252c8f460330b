"""Recipients as CSV: a spreadsheet's rows become a schedule's allocations, and back.

Grant rounds and token launches keep their recipients in a spreadsheet. Rather than teaching a second
reader every rule of an allocation, this module only turns rows into the schedule document's
`beneficiary_allocations` and hands the whole document to the schedule reader (`schedule_file`): the
rules, and their messages, are the same as for a hand-written JSON file. What it adds is what only a CSV
has: its header (which column is which), shares (percentages of a total, split exactly), and the row and
column of each problem, so an admin can go straight to the cell.

Columns (header names are case-insensitive; the JSON field names and their usual aliases are accepted):
`beneficiary_address`, `token_amount` *or* `share` (a percentage; the shares must sum to exactly 100 and
the total is given separately), `milestone_identifier`, `vesting_timestamp` (ISO 8601 with a zone, or
POSIX seconds). Pure: text in, document or text out.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from milestoned.domain.oracle_keys import KeyFileLoader
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_file import schedule_errors
from milestoned.domain.timestamps import format_timestamp
from milestoned.domain.validation_errors import FieldError

AMOUNT_COLUMN = "token_amount"
SHARE_COLUMN = "share"
CSV_COLUMNS = ("beneficiary_address", AMOUNT_COLUMN, "milestone_identifier", "vesting_timestamp")
_HEADER_NAMES: Mapping[str, str] = {
    "beneficiary_address": "beneficiary_address",
    "address": "beneficiary_address",
    "beneficiary": "beneficiary_address",
    "token_amount": AMOUNT_COLUMN,
    "amount": AMOUNT_COLUMN,
    "quantity": AMOUNT_COLUMN,
    "share": SHARE_COLUMN,
    "share_percent": SHARE_COLUMN,
    "percent": SHARE_COLUMN,
    "milestone_identifier": "milestone_identifier",
    "milestone": "milestone_identifier",
    "milestone_id": "milestone_identifier",
    "vesting_timestamp": "vesting_timestamp",
    "vesting": "vesting_timestamp",
    "vesting_time": "vesting_timestamp",
    "unlock_time": "vesting_timestamp",
}
HUNDRED = Decimal(100)
_DIGITS = re.compile(r"[0-9]+")
_SHARE = re.compile(r"[0-9]+(\.[0-9]+)?%?")
_POSITION = re.compile(r"row (\d+)(?:, column (\d+))?")
_ALLOCATION_PATH = re.compile(r"beneficiary_allocations\[(\d+)\](?:\.(\w+))?")


@dataclass(frozen=True)
class _Row:
    line: int  # the CSV line the row starts on (the header is line 1)
    cells: dict[str, str]  # canonical column name -> cell text, stripped


@dataclass(frozen=True)
class RecipientsReading:
    """A CSV read against a base document: the schedule document when valid, else every problem."""

    document: dict[str, Any] | None
    errors: tuple[FieldError, ...]


def recipients_document(
    csv_text: str,
    base: Mapping[str, Any],
    *,
    total_amount: int | None = None,
    base_name: str = "base",
    load_key_file: KeyFileLoader | None = None,
) -> RecipientsReading:
    """The schedule document `base` with its allocations taken from `csv_text`, checked in full.

    `base` holds every field but `beneficiary_allocations` (network, admin, token, oracles, quorum,
    deadline). `total_amount` is required when the CSV gives shares rather than amounts. Problems in the
    CSV are located as `row N, column C (name)`; problems of the base keep their JSON path, prefixed with
    `base_name`.
    """
    errors: list[FieldError] = []
    header, rows = _read_rows(csv_text, errors)
    if header is None:
        return RecipientsReading(None, tuple(errors))
    columns = {name: number for number, name in enumerate(header, 1)}
    amounts = _amounts(rows, columns, total_amount, errors)
    allocations = [_allocation(row, amounts.get(row.line), columns, errors) for row in rows]
    document = {key: value for key, value in base.items() if key != "beneficiary_allocations"}
    document["beneficiary_allocations"] = allocations
    for error in schedule_errors(document, load_key_file=load_key_file):
        errors.append(_locate(error, rows, columns, base_name))
    if errors:
        return RecipientsReading(None, tuple(sorted(errors, key=_position)))
    return RecipientsReading(document, ())


def recipients_csv(definition: ScheduleDefinition) -> str:
    """The allocations of a valid schedule as CSV (amount form), in the schedule's order.

    Reading this back with `recipients_document` against the same base gives the same allocations, and
    writing those again gives the same text: the round trip is exact.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for allocation in definition.allocations:
        writer.writerow(
            (
                allocation.beneficiary_address,
                allocation.token_amount,
                allocation.milestone_id.decode("utf-8"),
                format_timestamp(allocation.vesting_time_ms),
            )
        )
    return buffer.getvalue()


def _cell_error(row: _Row, columns: Mapping[str, int], name: str, message: str, hint: str) -> FieldError:
    return FieldError(f"row {row.line}, column {columns[name]} ({name})", message, hint)


def _read_rows(text: str, errors: list[FieldError]) -> tuple[list[str] | None, list[_Row]]:
    """The header (canonical names, in file order) and the non-empty rows; problems go to `errors`."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        raw_header = next(reader, None)
        if raw_header is None or not any(cell.strip() for cell in raw_header):
            errors.append(
                FieldError(
                    "row 1",
                    "is empty: the first row must name the columns",
                    "start with: " + ",".join(CSV_COLUMNS),
                )
            )
            return None, []
        header = _header(raw_header, errors)
        rows: list[_Row] = []
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(_row(line, cells, header, raw_header, errors))
            line = reader.line_num + 1
    except csv.Error as error:
        errors.append(
            FieldError(
                f"row {reader.line_num}", f"is not valid CSV: {error}", "check the quotes on that line"
            )
        )
        return None, []
    if header is None:
        return None, rows
    if not rows:
        errors.append(
            FieldError("row 2", "is missing: the file has no recipients", "add one row per allocation")
        )
        return None, rows
    return header, rows


def _header(raw: Sequence[str], errors: list[FieldError]) -> list[str] | None:
    names: list[str] = []
    ok = True
    for number, cell in enumerate(raw, 1):
        key = cell.strip().lower().replace(" ", "_").replace("-", "_")
        name = _HEADER_NAMES.get(key)
        if name is None:
            errors.append(
                FieldError(
                    f"row 1, column {number}",
                    f'"{cell.strip()}" is not a recipients column',
                    "name the columns "
                    + ", ".join(CSV_COLUMNS)
                    + f" ({SHARE_COLUMN} instead of {AMOUNT_COLUMN})",
                )
            )
            ok = False
        elif name in names:
            errors.append(
                FieldError(
                    f"row 1, column {number}", f"names {name} a second time", "remove one of the two columns"
                )
            )
            ok = False
        names.append(name or "")
    has_amount, has_share = AMOUNT_COLUMN in names, SHARE_COLUMN in names
    if has_amount and has_share:
        errors.append(
            FieldError(
                "row 1", f"has both {AMOUNT_COLUMN} and {SHARE_COLUMN}", "give amounts or shares, not both"
            )
        )
        ok = False
    required = [name for name in CSV_COLUMNS if name != AMOUNT_COLUMN] + [
        SHARE_COLUMN if has_share else AMOUNT_COLUMN
    ]
    for name in required:
        if name not in names:
            errors.append(FieldError("row 1", f"has no {name} column", f"add a column named {name}"))
            ok = False
    return names if ok else None


def _row(
    line: int, cells: Sequence[str], header: list[str] | None, raw: Sequence[str], errors: list[FieldError]
) -> _Row:
    if len(cells) != len(raw):
        errors.append(
            FieldError(
                f"row {line}",
                f"has {len(cells)} cells, the header names {len(raw)} columns",
                "give one value per column (quote values that contain a comma)",
            )
        )
    names = header or []
    return _Row(line, {name: cell.strip() for name, cell in zip(names, cells, strict=False) if name})


def _amounts(
    rows: Sequence[_Row], columns: Mapping[str, int], total: int | None, errors: list[FieldError]
) -> dict[int, int]:
    """Each row's amount when the CSV gives shares: `total` split exactly by largest remainder."""
    if SHARE_COLUMN not in columns:
        return {}
    if total is None or total <= 0:
        errors.append(
            FieldError(
                "total",
                "is needed when the CSV gives shares" if total is None else f"must be positive, got {total}",
                "pass --total N: the token units the shares divide (e.g. --total 1000000)",
            )
        )
        return {}
    shares: dict[int, Decimal] = {}
    for row in rows:
        text = row.cells.get(SHARE_COLUMN, "")
        if not _SHARE.fullmatch(text) or Decimal(text.rstrip("%")) == 0:
            errors.append(
                _cell_error(
                    row,
                    columns,
                    SHARE_COLUMN,
                    f'"{text}" is not a positive percentage',
                    "write a number like 12.5 or 12.5% (the shares sum to 100)",
                )
            )
            continue
        shares[row.line] = Decimal(text.rstrip("%"))
    if len(shares) != len(rows):
        return {}
    summed = sum(shares.values(), Decimal(0))
    if summed != HUNDRED:
        errors.append(
            FieldError(
                f"column {columns[SHARE_COLUMN]} ({SHARE_COLUMN})",
                f"sums to {summed}, not 100",
                f"correct the shares so they sum to exactly 100 ({HUNDRED - summed:+} to go)",
            )
        )
        return {}
    return split_by_shares(total, shares)


def split_by_shares(total: int, shares: Mapping[int, Decimal]) -> dict[int, int]:
    """`total` split in proportion to `shares` (summing to 100), exactly: floors, then the units left
    over one each to the largest remainders (ties to the earlier key), so the parts sum to `total`."""
    exact = {key: Decimal(total) * share / HUNDRED for key, share in shares.items()}
    floors = {key: int(value) for key, value in exact.items()}
    left = total - sum(floors.values())
    by_remainder = sorted(exact, key=lambda key: (-(exact[key] - floors[key]), key))
    for key in by_remainder[:left]:
        floors[key] += 1
    return floors


def _allocation(
    row: _Row, amount: int | None, columns: Mapping[str, int], errors: list[FieldError]
) -> dict[str, Any]:
    """A row as the schedule document writes an allocation (numbers as numbers, so rules see types).

    A cell this module already reported gets a placeholder amount of 1, so that the reader does not
    report the same cell a second time.
    """
    if amount is None:
        amount = _amount_cell(row, columns, errors)
    vesting = row.cells.get("vesting_timestamp", "")
    return {
        "beneficiary_address": row.cells.get("beneficiary_address", ""),
        "token_amount": amount,
        "milestone_identifier": row.cells.get("milestone_identifier", ""),
        "vesting_timestamp": int(vesting) if _DIGITS.fullmatch(vesting) else vesting,
    }


def _amount_cell(row: _Row, columns: Mapping[str, int], errors: list[FieldError]) -> int:
    if AMOUNT_COLUMN not in columns:
        return 1  # shares, already reported
    text = row.cells.get(AMOUNT_COLUMN, "")
    if _DIGITS.fullmatch(text.removeprefix("-")):
        return int(text)  # zero, negative and too large are the reader's to report
    errors.append(
        _cell_error(
            row,
            columns,
            AMOUNT_COLUMN,
            f'"{text}" is not a whole number of token units',
            "write digits only, in the token's smallest unit (no separators, decimals or units): for a "
            "token with 6 decimals, 1.5 tokens is 1500000",
        )
    )
    return 1


def _locate(
    error: FieldError, rows: Sequence[_Row], columns: Mapping[str, int], base_name: str
) -> FieldError:
    """A reader error at a JSON path, moved to the CSV cell (or the base file) it came from."""
    match = _ALLOCATION_PATH.fullmatch(error.path)
    message = _ALLOCATION_PATH.sub(lambda m: f"row {rows[int(m.group(1))].line}", error.message)
    if match is None:
        if error.path == "beneficiary_allocations":
            return FieldError("rows", message, error.hint)
        return FieldError(f"{base_name}: {error.location}", message, error.hint)
    row = rows[int(match.group(1))]
    field = match.group(2)
    if field is None:
        return FieldError(f"row {row.line}", message, error.hint)
    name = SHARE_COLUMN if field == AMOUNT_COLUMN and SHARE_COLUMN in columns else field
    return _cell_error(row, columns, name, message, error.hint)


def _position(error: FieldError) -> tuple[int, int]:
    """Sort key: problems of the base and the total first, then by row and column, as a person reads."""
    match = _POSITION.match(error.path)
    if match is None:
        return (0, 0)
    return (int(match.group(1)), int(match.group(2) or 0))
