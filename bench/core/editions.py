"""The editions of the conductive-charging standards a pile is qualified against (``[dut]
standard_edition``).

GB/T 18487.1 (the charging system: control pilot, contactor timing, the vehicle interface's
circuits) and GB/T 34657.1 (interoperability, the vehicle-side faults) were revised together:
GB/T 18487.1-2015 with GB/T 34657.1-2017, and GB/T 18487.1-2023 with GB/T 34657.1-2025 (in force
since 2026-03-01). A pile is qualified against one pair.

The limits table's figures are those of the 2015/2017 pair. A limit of those two documents gives
another edition's figure in its ``editions`` table, with that edition's source and confidence;
where it does not, the bench does not know the figure for that edition and judges nothing with
it: the case is skipped and summary.json's ``not_covered`` says why. Figures of the other
documents (GB/T 27930, NB/T 33001, the residential rules) do not depend on this choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.errors import BenchError


@dataclass(frozen=True)
class Edition:
    id: str  # as the limits table's ``editions`` tables name it
    name: str  # as a profile gives it: the GB/T 18487.1 edition
    pair: str  # the two documents, for reports


EDITIONS = {
    edition.name: edition
    for edition in (
        Edition("2015", "GB/T 18487.1-2015", "GB/T 18487.1-2015 / GB/T 34657.1-2017"),
        Edition("2023", "GB/T 18487.1-2023", "GB/T 18487.1-2023 / GB/T 34657.1-2025"),
    )
}
DEFAULT_EDITION = EDITIONS["GB/T 18487.1-2015"]
EDITION_IDS = tuple(edition.id for edition in EDITIONS.values())
# The documents whose figures depend on the edition (the document part of a limit key).
EDITION_DOCUMENTS = ("gbt18487.1", "gbt34657.1")


class FigureNotKnown(BenchError):
    """A limit whose figure the bench does not know for the DUT's edition: nothing is judged
    with it (the case is skipped, and ``not_covered`` names the key with this text)."""

    def __init__(self, key: str, edition: Edition):
        self.key = key
        self.edition = edition
        super().__init__(
            f"{edition.pair}: the figure of {key} is not known to the bench (the limits table gives it for "
            f"{DEFAULT_EDITION.pair} only); not judged"
        )


def depends_on_edition(key: str) -> bool:
    return key.partition(":")[0] in EDITION_DOCUMENTS


def edition_named(name: str) -> Edition:
    try:
        return EDITIONS[name]
    except KeyError:
        raise BenchError(f"standard edition {name!r}: one of {', '.join(EDITIONS)}") from None
