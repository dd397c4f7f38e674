"""Every source of randomness is seeded here, so a run is reproducible from its seed."""

from __future__ import annotations

# With `data_split: fixed` the data split (max_samples, test, validation, train_fraction)
# uses this seed for every training seed: seeds then vary only initialisation and batch
# order, and all seeds are scored on the same held-out digits. With `data_split: per_seed`
# each training seed draws its own split from itself (seed 0 draws this one).
SPLIT_SEED = 0


def seed_training(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (whose ops ``backend.tensorflow`` made
    deterministic)."""
    from mlplab.lab.backend import tensorflow

    tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
