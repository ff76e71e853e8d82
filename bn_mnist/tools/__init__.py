"""Tools on the core that run no study: `diagnose` (the BN layers of any saved Keras model) and `bench` (speed as
ratios)."""
