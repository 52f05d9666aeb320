"""The Spark session factory: ``local[2]`` on one machine, any ``--master`` on a cluster.

Settings chosen so Spark SQL answers like DuckDB does: UTC session time zone, NULL (not an error)
for a division by zero or an impossible cast (``spark.sql.ansi.enabled=false``, DuckDB's ``TRY_CAST``
semantics are kept where the views ask for them), and few shuffle partitions on a small machine.
"""

from __future__ import annotations

import os
import sys
from typing import Any

DEFAULT_MASTER = "local[2]"
MASTER_ENV = "HOOKLAKE_SPARK_MASTER"

_SESSION: Any = None


def default_master() -> str:
    return os.environ.get(MASTER_ENV) or DEFAULT_MASTER


def local_conf(master: str) -> dict[str, str]:
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.parquet.enableVectorizedReader": "true",
        "spark.sql.legacy.timeParserPolicy": "CORRECTED",
        # DuckDB: len(NULL) is NULL, to_json keeps NULL fields, '\s' in a string is a backslash + s
        "spark.sql.legacy.sizeOfNull": "false",
        "spark.log.structuredLogging.enabled": "false",
        "spark.sql.jsonGenerator.ignoreNullFields": "false",
        # A busy machine can starve the JVM for minutes: do not declare the local executor lost.
        "spark.network.timeout": "900s",
        "spark.executor.heartbeatInterval": "60s",
        # Driver JVM memory; on a cluster the deployment sets its own.
        "spark.driver.memory": os.environ.get("HOOKLAKE_SPARK_DRIVER_MEMORY", "2g"),
        # On a 2-core VM the JVM picks a 48 MB code cache; the translated views' generated code fills
        # it, the JIT switches itself off and a long job then fails in localCheckpoint.
        "spark.driver.extraJavaOptions": "-XX:ReservedCodeCacheSize=256m",
    }
    if master.startswith("local"):
        # Python workers run this interpreter (its packages: pyarrow, torch, faiss, hooklake)
        conf["spark.pyspark.python"] = os.environ.get("PYSPARK_PYTHON") or sys.executable
        conf["spark.pyspark.driver.python"] = sys.executable
        conf["spark.sql.shuffle.partitions"] = os.environ.get("HOOKLAKE_SPARK_SHUFFLE_PARTITIONS", "4")
        conf["spark.default.parallelism"] = "2"
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    return conf


def get_session(master: str | None = None, conf: dict[str, str] | None = None, app_name: str = "hooklake") -> Any:
    """One SparkSession per process (Spark allows no more); ``master`` only matters at creation."""
    global _SESSION
    from hooklake.errors import HooklakeError

    if _SESSION is not None:
        return _SESSION
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        raise HooklakeError("the Spark engine needs pyspark (and Java 17+): pip install 'hooklake[spark]'") from None
    master = master or default_master()
    if master.startswith("local"):
        # Python workers (mapInPandas, RDD functions) must run this interpreter, whose packages
        # (pyarrow, torch, faiss, hooklake) they import; pyspark reads only the variable for that.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**local_conf(master), **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # no Java, wrong Java, cannot reach the master
        raise HooklakeError(f"could not start Spark (master {master}): {str(exc).splitlines()[0][:300]}; "
                            "Spark 4 needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)") from None
    session.sparkContext.setLogLevel("FATAL")
    _SESSION = session
    return session


def stop_session() -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None
