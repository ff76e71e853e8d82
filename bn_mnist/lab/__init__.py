"""The layer every study stands on: the study contract and its one pipeline (`study`, `pipeline`), rules as data and
the verdict words (`verdicts`), plans of runs, training and reading them (`plan`, `runs`), the arms a comparison
trains, statistics over seeds, the number formats of tables and reports, and what a result records of its making.
It imports only the core; the studies import it and never each other (tests/test_architecture.py)."""
