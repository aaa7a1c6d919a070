"""Renderers: turn analysis results into text, tables and files; they compute nothing."""
