"""The dataset contract every stage shares (not a stage type: stages import it).

- ``images``: the one image reader of the project and its orientation policy;
- ``names``: names read from data files are untrusted; the one check that joins them with a folder.
"""
