"""The registration transaction's auxiliary data: the label-1967 document as pycardano metadata.

The layout (and reading it back) is pure and lives in `milestoned.domain.registration_metadata`: the
indexer and the chain audit read what this writes.
"""

from __future__ import annotations

from pycardano import AuxiliaryData, Metadata

from milestoned.domain.registration_metadata import SCHEDULE_METADATA_LABEL, part_document


def schedule_metadata(schedule_id: bytes, full_text: str, first: int, end: int, total: int) -> AuxiliaryData:
    """The auxiliary data of the registration transaction of allocations [first, end) of `total`."""
    document = part_document(schedule_id, full_text, first, end, total)
    return AuxiliaryData(Metadata({SCHEDULE_METADATA_LABEL: document}))
