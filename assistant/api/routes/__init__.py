"""Thin routes: parse, check limits, call the engine in a thread, shape the JSON."""
