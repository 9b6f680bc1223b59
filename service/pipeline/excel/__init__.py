"""Spreadsheets: the ticket export, the monthly report, and the import of an office's sheet of problems."""
