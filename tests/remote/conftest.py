"""An S3-compatible server on 127.0.0.1 (moto's server mode) for the remote-lake tests.

moto stands in for S3 because no real object store can be reached from the test machine; it
speaks the S3 HTTP API (including conditional PUTs), so the code under test talks to it through
boto3 exactly as it would to AWS or MinIO.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from remote_helpers import ACCESS_KEY, BUCKET, SECRET_KEY, S3Server  # noqa: E402


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    pytest.importorskip("moto", reason="needs moto[server] (the S3-compatible test server)")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = S3Server(server, host, port)
    s3.client().create_bucket(Bucket=BUCKET)
    yield s3
    try:
        s3.stop()
    except Exception:
        pass


@pytest.fixture
def remote_lake(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh prefix in the bucket as this test's ``$HOOKLAKE_LAKE``, with endpoint and credentials."""
    uri = f"s3://{BUCKET}/lake-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOOKLAKE_LAKE", uri)
    monkeypatch.setenv("HOOKLAKE_S3_ENDPOINT", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return uri
