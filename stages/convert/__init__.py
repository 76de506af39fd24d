"""The convert stage: a public dataset's own annotation format -> the project's dataset contract (COCO
detection sets, recognition LMDBs and crops, Parquet manifests; ``stages.dataset``), plus exports.

``params.py`` its config, ``stage.py`` the stage; ``parsers/`` one module per source format,
``writers/`` the export formats (MMOCR, PaddleOCR); the rest are the sharded work and its sink.
"""
