"""The download stage: one dataset from URLs (checksummed, cached, resumable) or from a local path.

``params.py`` its config (``DownloadParams``), ``stage.py`` the stage and what it writes, ``errors.py``
the errors it raises; the rest fetch, verify and report progress.
"""
