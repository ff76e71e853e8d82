"""`bn-mnist diagnose MODEL`: what is wrong with the BN layers of any saved Keras 3 model, measured on data."""
