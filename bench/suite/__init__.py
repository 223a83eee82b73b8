"""The stock-vs-daskcpp benchmark behind `bench/run` (see bench/README.md).

clusters  -- scheduler + workers (stock, daskcpp-worker, simulated) as processes
tasks     -- task functions the workers import by reference
workloads -- one function per workload: runs it on a Client, checks the result
cases     -- the suites: which workload, at which size, on which clusters
runner    -- repetitions in alternating order, medians, spread, ratios
report    -- JSON, Markdown and PNG plots
"""
