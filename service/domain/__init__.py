"""The one table's shared rules: reading and visibility, history, calendar, reference data, text tokens, bounds, privacy and audit."""
