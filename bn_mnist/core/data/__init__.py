"""MNIST: `sources` finds and reads it (user directory, cache, downloads), `mnist` verifies it, chains the sources
and splits it the way the tutorial's loader did."""

from bn_mnist.core.data.mnist import Mnist, load_mnist

__all__ = ["Mnist", "load_mnist"]
