"""The layer under every multi-run command (`compare`, `reproduce`, `explain`): the arms a comparison trains, plans
of runs with their budgets, training and reading them, typed result records, statistics over seeds, the number
formats of tables and reports, and what a result records of its making. The commands import this layer and never
each other (tests/test_architecture.py)."""
