"""Stage types, one package each (``stages/<type>/``: ``params.py``, ``stage.py``), the dataset contract
they share (``stages/dataset``), and the registry wiring them into the engine (``stages/registry.py``).

Nothing is imported here: ``import stages.dataset.images`` (which the models package does) must not load
every stage type."""
