"""The pretrained stage: outside weights (a file, an installed package's resource, or a checksummed URL)
imported into a project architecture as a checkpoint. ``params.py`` its config, ``stage.py`` the stage,
``sources.py`` where the weights file is found."""
