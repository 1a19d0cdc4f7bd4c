"""One module per figure of ``bench/run.py``."""
