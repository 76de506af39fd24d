"""Writers of the convert stage's export formats (MMOCR, PaddleOCR); the project's own formats (COCO,
LMDB, crops, Parquet manifests) are the dataset contract's, in ``stages.dataset``."""
