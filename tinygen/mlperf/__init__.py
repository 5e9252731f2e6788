"""MLPerf Tiny (docs/mlperf.md): the benchmarks' input conversions and result text (`benchmarks`),
the mlperf app's generated settings (`firmware`), tinygen's own client of the benchmark protocol
(`client`) and `tinygen verify --app mlperf` (`verify`)."""
