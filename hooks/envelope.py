"""The spool line format shared by every producer (capture hook, SDK, wrapper, server).

One event is one line: a JSON object whose envelope fields come first and whose payload is
embedded verbatim. Standard library only: the capture hook imports this on the hot path.

    {"v":1,"event_id":"<32 hex>","captured_ns":<int>,"source":"claude_code","host":"<name>","payload":{...}}

A payload that is not a JSON object (invalid UTF-8, invalid JSON, empty) is never dropped:
it is stored as ``"raw_b64"`` with a ``"defect"`` saying why, and ingest quarantines it.
"""

FORMAT_VERSION = 1

FIELD_VERSION = "v"
FIELD_EVENT_ID = "event_id"
FIELD_CAPTURED_NS = "captured_ns"
FIELD_SOURCE = "source"
FIELD_HOST = "host"
FIELD_PAYLOAD = "payload"
FIELD_RAW_B64 = "raw_b64"
FIELD_DEFECT = "defect"

DEFECT_INVALID_JSON = "invalid_json"
DEFECT_INVALID_UTF8 = "invalid_utf8"
DEFECT_NOT_OBJECT = "not_object"
DEFECT_EMPTY = "empty"

SOURCE_CLAUDE_CODE = "claude_code"
SOURCE_SDK = "sdk"
SOURCE_WRAPPER = "wrapper"
SOURCE_TRANSCRIPT = "transcript"
SOURCE_OTLP = "otlp"
SOURCE_ROUTER = "router"
SOURCE_SERVER = "server"
SOURCE_DEMO = "demo"

SPOOL_SUFFIX = ".jsonl"


def spool_file_name(hour_stamp: str, host: str) -> str:
    """Spool files are per hour and host (``2026112709.myhost.jsonl``) so ingest can retire old ones."""
    return f"{hour_stamp}.{host}{SPOOL_SUFFIX}"
