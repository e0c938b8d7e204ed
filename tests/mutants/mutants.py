"""Every seeded mutant: the backend's and the billing code's, in the order they print."""

from __future__ import annotations

from tests.mutants.backend import BACKEND_MUTANTS
from tests.mutants.billing import BILLING_MUTANTS
from tests.mutants.harness import Mutant

ALL_MUTANTS: list[Mutant] = [*BACKEND_MUTANTS, *BILLING_MUTANTS]
