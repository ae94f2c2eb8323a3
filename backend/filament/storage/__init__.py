"""Object storage: a local folder by default, S3 when `FILAMENT_S3_BUCKET` is set."""

from functools import lru_cache

from filament.core.settings import get_settings
from filament.storage.base import Storage, make_key


@lru_cache
def get_storage() -> Storage:
    settings = get_settings()
    if settings.s3_bucket:
        from filament.storage.s3 import S3Storage

        return S3Storage(
            settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url, settings.s3_region
        )
    from filament.storage.local import LocalStorage

    return LocalStorage(settings.storage_dir)


__all__ = ["Storage", "get_storage", "make_key"]
