"""Helpers shared by the test folders (import as ``tests.helpers.…``)."""
