"""Placeholder; replaced by the demo."""
