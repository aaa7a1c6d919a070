"""The self-contained HTML report: a page drawn from a result's JSON object, charts in SVG."""
