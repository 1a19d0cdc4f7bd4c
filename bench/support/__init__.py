"""What every benchmark figure shares: infrastructure, load generators, CPU meters and the report."""
