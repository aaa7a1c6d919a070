"""The base layer: the cost graph, precisions, errors, number formatting and file reading/writing.

Nothing here knows about chips, models or commands; every other layer builds on it.
"""
