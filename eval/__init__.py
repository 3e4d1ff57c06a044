"""Question benchmark for Letters QA: gold data, validation and command line."""
