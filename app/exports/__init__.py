"""Figures and opted-in supporters as CSV: streamed in constant memory, safe to open in a spreadsheet."""
