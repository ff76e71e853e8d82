"""The arms a comparison trains, each defined once: its key (the run's sub-directory), its label (a table's column,
a figure's legend), its short name (in a sentence or a rule), its colour (the same in every figure) and how it makes
its config from the experiment's."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bn_mnist.core.config import (
    BATCH_ONLY,
    GROUPED,
    BNConfig,
    Config,
    RenormClipping,
    RenormWarmup,
    with_bn,
    with_bn_on_replicas,
)


def unchanged(config: Config) -> Config:
    return config


@dataclass(frozen=True)
class Arm:
    """One arm of a comparison."""

    key: str
    label: str
    short: str
    colour: str
    configure: Callable[[Config], Config] = unchanged


def with_renorm(config: Config) -> Config:
    """BN with Batch Renormalization, r clipped to [1/3, 3] and |d| to 5 (Ioffe 2017's late-training limits)."""
    clipping = RenormClipping(rmax=3.0, rmin=0.3333, dmax=5.0)
    return dataclasses.replace(
        config, bn=dataclasses.replace(config.bn, enabled=True, renorm=True, renorm_clipping=clipping)
    )


WARMUP_HOLD, WARMUP_RELAXED = 0.05, 0.3  # of a run's steps: Ioffe's shape, scaled to the run (his ran far longer)


def with_renorm_warmup(config: Config) -> Config:
    """Batch Renormalization as Ioffe (2017) trained it: plain BN (r = 1, d = 0) for the first 5% of the steps, the
    limits then relaxed linearly to [1/3, 3] and 5 by 30% (`nn` layer: Keras' clipping limits are fixed)."""
    renormed = with_renorm(config)
    steps = config.train.steps
    warmup = RenormWarmup(hold=round(steps * WARMUP_HOLD), relaxed=max(1, round(steps * WARMUP_RELAXED)))
    return dataclasses.replace(renormed, bn=dataclasses.replace(renormed.bn, impl="nn", renorm_warmup=warmup))


def with_bessel(config: Config) -> Config:
    """BN whose moving variance averages the unbiased batch variance (`nn` layer; Keras averages the biased one)."""
    return dataclasses.replace(config, bn=dataclasses.replace(config.bn, enabled=True, impl="nn", bessel=True))


NOISE = 1.0  # noisy BN's noise: per step and channel a mean in [-1, 1] and an SD in [0, 1] after a unit-variance BN


def with_noisy_bn(config: Config) -> Config:
    """BN with Santurkar et al.'s noise after it (`nn` layer)."""
    return dataclasses.replace(config, bn=dataclasses.replace(config.bn, enabled=True, impl="nn", noise=NOISE))


def with_threads(config: Config, threads: int) -> Config:
    return dataclasses.replace(config, train=dataclasses.replace(config.train, threads=threads))


BN = Arm("bn", "With Batch Norm", "BN", "tab:blue", lambda config: with_bn(config, True))
NO_BN = Arm("no_bn", "Without Batch Norm", "no BN", "tab:orange", lambda config: with_bn(config, False))
RENORM = Arm("renorm", "Batch Renorm", "Batch Renorm", "tab:cyan", with_renorm)
RENORM_WARMUP = Arm("renorm_warmup", "Batch Renorm + warm-up", "Renorm + warm-up", "tab:brown", with_renorm_warmup)
BESSEL = Arm("bessel", "BN, unbiased moving variance", "BN (Bessel)", "tab:purple", with_bessel)
NOISY_BN = Arm("noisy_bn", "BN + noise after it", "noisy BN", "gold", with_noisy_bn)
# The Solutions' two BN nets (their configs are the shipped conv.yaml and conv-nn.yaml), and the Keras one again
# with 2 threads: the same seed, other round-off.
BN_KERAS = Arm("bn_keras", "BN, high-level layer", "BN (keras)", "tab:blue")
BN_NN = Arm("bn_nn", "BN, low-level tf.nn", "BN (nn)", "tab:green")
ROUNDOFF = Arm(
    "bn_keras_threads2",
    "BN, high-level layer, 2 threads",
    "BN (keras, 2 threads)",
    "tab:purple",
    lambda config: with_threads(config, 2),
)
WITH_AND_WITHOUT = (BN, NO_BN)  # `compare`'s default: the config with and without BN


def normalized(kind: str) -> Callable[[Config], Config]:
    """The config with the normalization `kind` in BN's place (nets/norms.py): batch norm keeps the config's BN
    options; another kind takes the defaults of the options only batch norm has (and of the groups, unless it has
    groups), so that any config can be compared."""

    def configure(config: Config) -> Config:
        changes: dict[str, Any] = {"enabled": True, "kind": kind}
        changes["groups"] = config.bn.groups if kind in GROUPED else BNConfig.groups
        if kind != "batch":
            changes |= BATCH_ONLY
        bn = dataclasses.replace(config.bn, **changes)  # at once: each step is validated
        return dataclasses.replace(config, bn=bn)

    return configure


def without_norm(weight_init: str, activation: str | None = None) -> Callable[[Config], Config]:
    """No normalization; a BN-free init (and activation) instead."""

    def configure(config: Config) -> Config:
        model = dataclasses.replace(
            config.model, weight_init=weight_init, dense_init=None, activation=activation or config.model.activation
        )
        return dataclasses.replace(with_bn(config, False), model=model)

    return configure


LAYER_NORM = Arm("layer", "Layer Norm", "LN", "tab:green", normalized("layer"))
GROUP_NORM = Arm("group", "Group Norm", "GN", "tab:red", normalized("group"))
HE = Arm("he", "no norm, He init", "He", "tab:gray", without_norm("he_normal"))
LSUV = Arm("lsuv", "no norm, LSUV", "LSUV", "tab:pink", without_norm("lsuv"))
SELU = Arm("selu", "no norm, SELU + LeCun", "SELU", "tab:olive", without_norm("lecun_normal", "selu"))
BN_FREE_INITS = (HE, LSUV, SELU)
NORM_ARMS = (  # `compare --arms norms`: every normalization, then no normalization with and without BN-free inits
    Arm(BN.key, BN.label, BN.short, BN.colour, normalized("batch")),
    LAYER_NORM,
    GROUP_NORM,
    Arm("instance", "Instance Norm", "IN", "tab:purple", normalized("instance")),
    Arm("ws_group", "Weight Std. + Group Norm", "WS+GN", "tab:brown", normalized("ws_group")),
    NO_BN,
    *BN_FREE_INITS,
)


def norm_arms(arch: str) -> tuple[Arm, ...]:
    """The norms comparison's arms for a net: instance norm has no meaning on the FC net's dense units."""
    return tuple(arm for arm in NORM_ARMS if not (arch == "fc" and arm.key == "instance"))


def across_replicas(replicas: int, batch_size: int) -> tuple[Arm, Arm, Arm]:
    """BN over the global batch on one device, against N replicas with synchronized and with per-replica BN: the
    same batches and updates, only whose statistics BN normalises with differs."""
    share = batch_size // replicas

    def arm(key: str, label: str, colour: str, count: int, sync: bool) -> Arm:
        return Arm(key, label, label, colour, lambda config: with_bn_on_replicas(config, count, sync))

    return (
        arm("one_device", f"BN, one device (batch {batch_size})", "tab:blue", 1, True),
        arm("sync", f"synchronized BN, {replicas} x {share}", "tab:orange", replicas, True),
        arm("per_replica", f"per-replica BN, {replicas} x {share}", "tab:green", replicas, False),
    )


def by_key(arms: tuple[Arm, ...]) -> dict[str, Arm]:
    return {arm.key: arm for arm in arms}
