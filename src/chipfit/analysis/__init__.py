"""Analysis: a cost graph, a chip and a workload in; plain data out (counts, rooflines,
verdicts, rankings, LLM timings, plans, what-if options and the formulas behind them).
Nothing here prints or renders."""
