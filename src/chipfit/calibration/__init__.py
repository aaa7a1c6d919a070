"""Fitting efficiency factors to measurements: per efficiency class (the built-in tables) and
per chip (``chipfit calibrate``)."""
