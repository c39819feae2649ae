"""Tasks: one type per kind of problem (binary, multiclass, multilabel, regression)."""
