"""Dataset writers of the convert stage: COCO JSON (detection), LMDB (recognition), word crops, Parquet manifests."""
from stages.convert.writers.coco import CocoWriter, read_coco, write_coco
from stages.convert.writers.crops import crop_instance, encode_crop
from stages.convert.writers.lmdb_writer import LmdbWriter
from stages.convert.writers.manifest import CROP_SCHEMA, IMAGE_SCHEMA, ManifestWriter, write_manifest

__all__ = [
    "CROP_SCHEMA", "IMAGE_SCHEMA", "CocoWriter", "LmdbWriter", "ManifestWriter",
    "crop_instance", "encode_crop", "read_coco", "write_coco", "write_manifest",
]
