"""The multi-run commands, one folder (or module) each: `compare`, `reproduce`, `explain`, `pitfalls`. Each stands
on `lab` and the core and never imports another study or a tool (tests/test_architecture.py)."""
