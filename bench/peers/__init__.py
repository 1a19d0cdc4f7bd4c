"""The naive peers the benchmarks compare with: what a team would write on the same stack, nothing more."""
