"""The layer under every multi-run command (`compare`, `reproduce`, `explain`): the arms a comparison trains, plans
of runs, training and reading them, statistics over seeds, the number formats of tables and reports, and what a
result records of its making (the records themselves are `bn_mnist.core.records`; each command defines its budget and
typed results). The commands import this layer and never
each other (tests/test_architecture.py)."""
