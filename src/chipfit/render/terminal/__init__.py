"""Terminal views (rich tables) of analysis results.

Results speak of parameters as the Python API names them, in backquotes (notes, formulas);
:func:`chipfit.analysis.params.cli_words` turns them into the flags a terminal user types.
"""
