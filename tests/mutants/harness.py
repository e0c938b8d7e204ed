"""What a mutant is, how one is run, and how its failing example is measured.

A mutant is caught when the toolkit's own test (the state machine, or docs/testing.md's recipes)
fails with an `AssertionError` (a `ModelMismatch` is one): a crash of the mutated code is not
counted, since a mutant is meant to answer wrongly, not to break. Mutated code is always a copy
(`mutated_copy`, or a subclass of a backend); the installed package is never touched.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import sys
import time
import types
from collections.abc import Callable, Sequence
from functools import cache

import attrs
from hypothesis import HealthCheck, Phase, settings

MACHINE_SETTINGS = settings(
    max_examples=50,
    stateful_step_count=20,
    deadline=None,
    database=None,
    derandomize=True,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow],
)
"""docs/testing.md's recommended settings for the state machine (within its 10-50 examples of
15-50 steps), run reproducibly: derandomized, without the example database."""
DOC_PROFILE = "meterlib-mutants"
"""A settings profile the docs' own tests inherit what they leave unset from: reproducible
runs (derandomized, no example database), as `MACHINE_SETTINGS`."""
settings.register_profile(
    DOC_PROFILE, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
MAX_STEPS = 5
"""A caught mutant's failing example must shrink to at most this many steps."""


class MutationSiteMissing(LookupError):
    """The text a source mutant replaces is not in the module (once): the code has moved on."""


@attrs.frozen(kw_only=True)
class Mutant:
    """One seeded bug and how to run the toolkit's test against it.

    `run` raises (an `AssertionError`) when the toolkit catches the bug; it takes the phases to
    run (generation only, or with shrinking) and a seed (None: derandomized).
    """

    name: str
    bug: str
    """The bug, in one line."""
    kind: str
    """``"backend"`` or ``"billing"``."""
    run: Callable[[Sequence[Phase], int | None], None]
    sample: bool = False
    """Run by ``make test`` too (every mutant runs in ``make mutants``)."""
    prepare: Callable[[], object] | None = None
    """For a mutant that edits a copy of source or text: make the copy without running it
    (raises `MutationSiteMissing` if the code it edits has moved on). None for subclasses."""


@attrs.frozen(kw_only=True)
class Outcome:
    """What running one mutant gave."""

    mutant: Mutant
    caught: bool
    steps: int | None
    """The failing example's length after shrinking (`steps_of`); None if not shrunk."""
    seconds: float
    failure: str
    """The first line of what was raised, or why the mutant survived."""
    examples: int | None = None
    """State machine runs until the first failure (without shrinking), if counted."""


def steps_of(report: str) -> int:
    """The length of the failing example Hypothesis reported.

    A state machine's: the rules it ran (``state.rule(...)`` lines with arguments, which every
    rule of `MeteringStateMachine` takes; invariants and teardown take none). Otherwise the
    steps of the usage scripts it drew (`CreateEvent`, `RetryEvent`, `CancelEvent`,
    `AdvanceClock`), or 1 when it drew single inputs (a period, a tier table and a quantity).

    >>> steps_of("meters_0 = state.make(data=data(...))")
    1
    """
    rules = re.findall(r"^(?:\w+(?:, \w+)* = )?state\.\w+\((?!\))", report, re.MULTILINE)
    if rules:
        return len(rules)
    script = re.findall(r"\b(?:CreateEvent|RetryEvent|CancelEvent|AdvanceClock)\(", report)
    return len(script) or 1


def report_of(error: BaseException) -> str:
    """The failing example Hypothesis attached to the error (its notes), groups included."""
    notes = list(getattr(error, "__notes__", []))
    if isinstance(error, BaseExceptionGroup):
        notes += [report_of(inner) for inner in error.exceptions]
    return "\n".join(notes)


def is_caught(error: BaseException) -> bool:
    """Whether the failure is a wrong answer (an `AssertionError`, in a group or not)."""
    if isinstance(error, BaseExceptionGroup):
        return all(is_caught(inner) for inner in error.exceptions)
    return isinstance(error, AssertionError)


def first_line(error: BaseException) -> str:
    """The exception's type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160] if text else ''}"


def try_mutant(
    mutant: Mutant, *, shrink: bool, seed: int | None = None, count: Callable[[], int] | None = None
) -> Outcome:
    """Run the toolkit against `mutant` once; with `shrink`, measure the shrunk example.

    `count`, if given, reads how many state machine runs the mutant has seen (reset by the
    caller), reported as `Outcome.examples` when not shrinking.
    """
    from hypothesis.reporting import with_reporter  # noqa: PLC0415 -- internal, used here only

    phases = [Phase.explicit, Phase.generate, *([Phase.shrink] if shrink else [])]
    lines: list[str] = []
    began = time.perf_counter()
    try:
        with with_reporter(lambda value: lines.append(str(value))):
            mutant.run(phases, seed)
    except BaseException as error:  # any failure is an outcome to report
        if isinstance(error, KeyboardInterrupt):
            raise
        seconds = time.perf_counter() - began
        report = "\n".join([*lines, report_of(error)])
        return Outcome(
            mutant=mutant,
            caught=is_caught(error),
            steps=steps_of(report) if shrink else None,
            seconds=seconds,
            failure=first_line(error),
            examples=None if shrink or count is None else count(),
        )
    return Outcome(
        mutant=mutant,
        caught=False,
        steps=None,
        seconds=time.perf_counter() - began,
        failure="survived: every example passed",
    )


@cache
def mutated_copy(module_name: str, replacements: tuple[tuple[str, str], ...]) -> types.ModuleType:
    """A fresh copy of a module's source with each ``(old, new)`` text replaced, executed.

    Each `old` must occur exactly once in the module, or `MutationSiteMissing` is raised: the
    mutant then needs updating to the code as it is now. The copy gets a module name of its own
    (registered in `sys.modules`, as attrs and pickle look classes up there); the installed
    module is untouched.
    """
    original = importlib.import_module(module_name)
    source = inspect.getsource(original)
    for old, new in replacements:
        found = source.count(old)
        if found != 1:
            raise MutationSiteMissing(
                f"{module_name}: the mutation site occurs {found} times, not once: {old!r}"
            )
        source = source.replace(old, new)
    digest = hashlib.sha256(repr(replacements).encode()).hexdigest()[:12]
    name = f"{module_name}__mutant_{digest}"
    module = types.ModuleType(name)
    module.__file__ = f"<mutant {digest} of {original.__file__}>"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
