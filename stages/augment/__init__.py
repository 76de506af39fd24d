"""The augment stage: one new detection dataset per named variant of a source dataset (offline copies,
e.g. of ArT). The transforms themselves are the dataset contract's (``stages.dataset.transforms``),
shared with the training stage's online augmentation.

``params.py`` its config, ``stage.py`` the stage, ``variants.py`` the built-in named chains.
"""
