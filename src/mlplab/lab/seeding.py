"""Every source of randomness is seeded here, so a run is reproducible from its seed."""

from __future__ import annotations

# The data split (test, validation, max_samples) uses this fixed seed, the same for
# every training seed: seeds then vary only initialisation and batch order, and all
# runs are scored on the same held-out digits.
SPLIT_SEED = 0


def seed_training(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's CPU ops deterministic."""
    from mlplab.lab.backend import tensorflow

    tf = tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except RuntimeError:  # already enabled after the first call in this process
        pass
