"""Data shipped with smokegate: the dated OSV snapshot for offline advisory checks."""
