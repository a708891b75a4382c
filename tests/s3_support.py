"""A real S3-compatible server on loopback for the storage tests: moto in server mode, in a thread
of the test process (ThreadedMotoServer), reached over HTTP by the tests and by worker processes.

`s3_media` gives a test a fresh bucket, points this process's media storage at it and returns the
environment a worker needs to use the same bucket (MEDIA_STORAGE=s3 and MEDIA_S3_*).
"""
from __future__ import annotations

import uuid

import pytest

from labeler.redis_server import free_port


@pytest.fixture(scope="session")
def s3_endpoint():
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_env(endpoint: str, bucket: str, **overrides: str) -> dict[str, str]:
    return {
        "MEDIA_STORAGE": "s3", "MEDIA_S3_ENDPOINT_URL": endpoint, "MEDIA_S3_BUCKET": bucket,
        "MEDIA_S3_ACCESS_KEY_ID": "labeler-test", "MEDIA_S3_SECRET_ACCESS_KEY": "labeler-test-secret",
        "MEDIA_S3_TIMEOUT_S": "2", "MEDIA_S3_ATTEMPTS": "1", **overrides,
    }


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="labeler-test", aws_secret_access_key="labeler-test-secret")


def bucket_keys(endpoint: str, bucket: str, prefix: str = "") -> list[str]:
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture
def s3_media(settings, s3_endpoint) -> dict[str, str]:
    """This test's media in a fresh bucket of the loopback S3 server; returns the worker's env."""
    from labeler.settings import s3_media_backend

    bucket = f"media-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(Bucket=bucket)
    env = s3_env(s3_endpoint, bucket)
    settings.STORAGES = {**settings.STORAGES, "default": s3_media_backend(env)}
    return env
