"""The synth stage: synthetic scene text, words on procedural or user backgrounds, with true polygons.

``params.py`` its config, ``stage.py`` the stage; ``layout`` / ``render`` / ``fonts`` / ``lexicon`` /
``backgrounds`` / ``colour`` / ``folders`` the generator's parts.
"""
