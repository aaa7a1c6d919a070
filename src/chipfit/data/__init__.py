"""Schema-checked data files with sources: the chip database, the model zoo and the fitted
efficiency tables. Data only: no analysis, no rendering."""
