"""Billing mutants: docs/testing.md's example billing code with one line changed each.

Each mutant edits a copy of the page's text (a period that ends early or is 30 days long, an
anchor day that is not clamped to the month, an inclusive invoice end, a tier edge off by one
unit, a negative total invoiced as a credit) and runs the page's code blocks, in order, in a
fresh module, as tests/test_docs.py does: its recipe (the tests it defines and runs) must fail.
The page's own ``@settings`` apply; `DOC_PROFILE` makes the runs reproducible.
"""

from __future__ import annotations

import os
import sys
import tempfile
import types
from collections.abc import Callable, Sequence
from pathlib import Path

from hypothesis import Phase, settings

from tests.mutants.harness import DOC_PROFILE, Mutant, MutationSiteMissing
from tests.test_docs import python_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def mutated_doc(replacements: Sequence[tuple[str, str]]) -> str:
    """The page's text with each ``(old, new)`` made; each `old` must occur exactly once."""
    text = DOC.read_text(encoding="utf-8")
    for old, new in replacements:
        found = text.count(old)
        if found != 1:
            raise MutationSiteMissing(f"docs/testing.md: {found} occurrences, not 1, of {old!r}")
        text = text.replace(old, new)
    return text


def run_doc(text: str, phases: Sequence[Phase], seed: int | None) -> None:
    """Run the page's python blocks in order in a fresh module, in an empty directory.

    Hypothesis settings the page leaves unset come from `DOC_PROFILE` with these `phases`
    (derandomized; `seed`, if given, is ignored: the page's tests take no seed).
    """
    name = "meterlib_mutant_doc"
    profile = f"{DOC_PROFILE}-{'-'.join(phase.name for phase in phases)}"
    settings.register_profile(profile, settings.get_profile(DOC_PROFILE), phases=phases)
    previous = settings.get_current_profile_name()
    module = types.ModuleType(name)
    module.__file__ = str(DOC)
    sys.modules[name] = module
    here = Path.cwd()
    settings.load_profile(profile)
    try:
        with tempfile.TemporaryDirectory() as empty:
            os.chdir(empty)
            for first, source in python_blocks(text):
                code = compile("\n" * (first - 1) + source, str(DOC), "exec")
                exec(code, module.__dict__)
    finally:
        os.chdir(here)
        settings.load_profile(previous)
        del sys.modules[name]


def _runner(
    replacements: tuple[tuple[str, str], ...],
) -> Callable[[Sequence[Phase], int | None], None]:
    return lambda phases, seed: run_doc(mutated_doc(replacements), phases, seed)


def _mutant(name: str, bug: str, *replacements: tuple[str, str], sample: bool = False) -> Mutant:
    return Mutant(
        name=name,
        bug=bug,
        kind="billing",
        run=_runner(replacements),
        sample=sample,
        prepare=lambda: mutated_doc(replacements),
    )


PERIOD_RETURN = "    return renewal(number), renewal(number + 1)\n"
CLAMP = "        day = min(anchor.day, calendar.monthrange(year, month)[1])\n"
RENEWAL = "        return int(anchor.replace(year=year, month=month, day=day).timestamp())\n"
INVOICE = "    return tiered_price(m.usage(meter_id, customer, start, end))\n"
FREE = "    if quantity <= 0:\n        return Decimal(0)\n"
VOLUME = "tier.up_to is None or quantity <= tier.up_to)\n"
FLOOR = "        floor = top\n"

BILLING_MUTANTS: list[Mutant] = [
    _mutant(
        "period_ends_a_day_early",
        "a billing period ends a day before the next one starts",
        (PERIOD_RETURN, "    return renewal(number), renewal(number + 1) - 86_400\n"),
        sample=True,
    ),
    _mutant(
        "period_is_30_days",
        "a monthly period lasts a constant 30 days",
        (PERIOD_RETURN, "    return renewal(number), renewal(number) + 30 * 86_400\n"),
    ),
    _mutant(
        "period_day_capped_at_28",
        "the renewal day is capped at the 28th, so that every month has it",
        (CLAMP, "        day = min(anchor.day, 28)\n"),
    ),
    _mutant(
        "period_stays_clamped",
        "once a short month clamps the anchor day, later periods keep the clamped day",
        (
            CLAMP,
            "        day = min(\n"
            "            [anchor.day]\n"
            "            + [calendar.monthrange(anchor.year + (anchor.month - 1 + k) // 12,\n"
            "                                   (anchor.month - 1 + k) % 12 + 1)[1]\n"
            "               for k in range(months + 1)]\n"
            "        )\n",
        ),
    ),
    _mutant(
        "period_renews_at_midnight",
        "periods renew at midnight UTC instead of the anchor's time of day",
        (
            RENEWAL,
            "        return int(\n"
            "            anchor.replace(year=year, month=month, day=day, hour=0, minute=0,"
            " second=0)\n"
            "            .timestamp()\n"
            "        )\n",
        ),
    ),
    _mutant(
        "invoice_end_inclusive",
        "the invoice counts usage timestamped exactly at the period's end",
        (INVOICE, "    return tiered_price(m.usage(meter_id, customer, start, end + 1))\n"),
        sample=True,
    ),
    _mutant(
        "invoice_start_exclusive",
        "the invoice leaves out usage timestamped exactly at the period's start",
        (INVOICE, "    return tiered_price(m.usage(meter_id, customer, start + 1, end))\n"),
    ),
    _mutant(
        "negative_total_credited",
        "a negative usage total is invoiced as a credit instead of 0",
        (
            FREE,
            "    if quantity == 0:\n        return Decimal(0)\n"
            "    if quantity < 0:\n        return quantity * tiers[0].unit_amount\n",
        ),
    ),
    _mutant(
        "volume_edge_in_the_next_tier",
        "volume pricing puts a quantity equal to a tier's up_to into the next tier",
        (VOLUME, "tier.up_to is None or quantity < tier.up_to)\n"),
        sample=True,
    ),
    _mutant(
        "volume_tier_by_whole_units",
        "volume pricing picks the tier by the whole units of the quantity",
        (VOLUME, "tier.up_to is None or int(quantity) <= tier.up_to)\n"),
    ),
    _mutant(
        "graduated_tier_starts_a_unit_late",
        "graduated pricing starts each tier one unit after the previous one's up_to",
        (FLOOR, "        floor = top + 1\n"),
    ),
]
"""Every billing mutant, in the order ``make mutants`` prints them."""
