"""Import of customer lists: reading files (readers), mapping columns (mapping), parsing rows (parsing).

The modules named above are pure Python (no Django) so they are fast to test and reuse; jobs, matching
and writing live in the app's services.
"""
