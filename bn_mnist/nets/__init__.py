"""The networks: `bn` (batch normalization, the Keras layer or this project's `tf.nn` one) and `models` (the
tutorial's FC and conv nets, and where BN goes in them)."""
