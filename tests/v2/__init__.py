"""Tests of the v2 value objects, the event log objects and the error model (issue 13)."""
