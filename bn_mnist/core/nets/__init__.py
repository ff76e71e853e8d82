"""The networks: `bn` (batch normalization, the Keras layer or this project's `tf.nn` one), `norms` (the other
normalizations), `lsuv` and `models` (the tutorial's FC and conv nets, and where the normalization goes in them).
`keras.models.load_model` reads a saved model.keras once `bn_mnist.core.nets.bn` and `bn_mnist.core.nets.norms` are
imported (they register this project's layers)."""
