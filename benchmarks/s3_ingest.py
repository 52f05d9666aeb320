"""S3 ingest throughput against local ingest, and two ways for DuckDB to read a bucket.

Starts an S3-compatible server on 127.0.0.1 (moto's server mode), generates a realistic spool
(benchmarks/ingest_bench.generate_spool), then in the same process:

* local:  ``run_ingest`` into a local lake (fresh home);
* s3:     ``run_ingest`` with ``HOOKLAKE_LAKE=s3://...`` (local commit + upload + commit object);
  the two alternate ``--repeats`` times each (local, s3, s3, local, ...) and the medians are compared;
* read (mirror):  ``lakehouse.remote.sync_mirror`` + DuckDB over the local copy, cold and warm;
* read (fsspec):  DuckDB ``read_parquet('s3://...')`` through s3fs registered as a filesystem.

moto keeps objects in memory in this process, so the S3 figures show hooklake's protocol costs
(extra requests, commit object, checksum) rather than a real network; on a real bucket add
size / bandwidth. Usage: ``python benchmarks/s3_ingest.py [--quick] [--events N] [--repeats R]``; writes
``benchmarks/results/s3_ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def _spool_into(home: Path, spool_file: Path) -> None:
    from hooklake.paths import Paths

    paths = Paths.resolve(home)
    paths.spool.mkdir(parents=True, exist_ok=True)
    shutil.copy(spool_file, paths.spool / spool_file.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20k events")
    parser.add_argument("--repeats", type=int, default=2, help="ingest runs per side, alternating (default 2)")
    args = parser.parse_args(argv)
    events = 20_000 if args.quick else args.events

    from moto.server import ThreadedMotoServer

    from ingest_bench import generate_spool

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update({"HOOKLAKE_S3_ENDPOINT": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
    import boto3

    boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1").create_bucket(Bucket="bench-lake")
    work = Path(tempfile.mkdtemp(prefix="hooklake-s3-bench-"))
    results: dict = {"events": events}
    try:
        spool = work / "spool-src"
        spool.mkdir()
        spool_file = spool / f"{time.strftime('%Y%m%d%H', time.gmtime())}.bench.jsonl"
        generate_spool(spool_file, events)
        from hooklake.paths import Paths
        from ingest.compactor import run_ingest

        # local and s3 alternately (ABBA...), each run in a fresh home (and a fresh prefix), so load
        # drifting on a shared machine hits both sides alike; the medians are compared
        runs: dict[str, list[dict]] = {"local": [], "s3": []}
        prefix = "s3://bench-lake/team"
        for r in range(args.repeats):
            for kind in (("local", "s3") if r % 2 == 0 else ("s3", "local")):
                if kind == "local":
                    os.environ.pop("HOOKLAKE_LAKE", None)
                else:
                    prefix = f"s3://bench-lake/team-{r}"
                    os.environ["HOOKLAKE_LAKE"] = prefix
                home = work / f"{kind}-{r}"
                _spool_into(home, spool_file)
                t0, c0 = time.perf_counter(), time.process_time()
                rep = run_ingest(Paths.resolve(home))
                seconds = time.perf_counter() - t0
                runs[kind].append({"seconds": round(seconds, 3), "cpu_s": round(time.process_time() - c0, 3),
                                   "events_written": rep.events_written, "load_1m": round(os.getloadavg()[0], 2)})
        os.environ["HOOKLAKE_LAKE"] = prefix
        for kind in ("local", "s3"):
            secs = sorted(x["seconds"] for x in runs[kind])
            median = secs[len(secs) // 2] if len(secs) % 2 else (secs[len(secs) // 2 - 1] + secs[len(secs) // 2]) / 2
            results[kind] = {"seconds": round(median, 3), "events_written": runs[kind][-1]["events_written"],
                             "events_per_s": round(events / median, 1), "runs": runs[kind]}
        results["s3_vs_local_time_ratio"] = round(results["s3"]["seconds"] / results["local"]["seconds"], 3)
        results["s3_throughput_vs_local"] = round(results["local"]["seconds"] / results["s3"]["seconds"], 3)

        # reading the bucket from DuckDB: local mirror vs fsspec
        from lakehouse.remote import sync_mirror

        reader = work / "reader"
        paths = Paths.resolve(reader)
        query = "SELECT count(*), count(DISTINCT correlation_id) FROM read_parquet({src}, hive_partitioning = true)"
        import duckdb

        t0 = time.perf_counter()
        mp = sync_mirror(paths)
        sync_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        sync_mirror(paths)
        sync_warm = time.perf_counter() - t0
        con = duckdb.connect()
        glob = str(mp.events / "**" / "*.parquet")
        t0 = time.perf_counter()
        mirror_row = con.execute(query.format(src=f"'{glob}'")).fetchone()
        mirror_q = time.perf_counter() - t0
        results["read_mirror"] = {"sync_cold_s": round(sync_cold, 3), "sync_warm_s": round(sync_warm, 3),
                                  "query_s": round(mirror_q, 3), "rows": mirror_row[0]}
        try:
            import s3fs

            from lakehouse import remote

            loc = remote.parse_lake_uri(prefix)
            snap = remote.snapshot(remote.s3_client(), loc)
            fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": f"http://{host}:{port}"})
            con.register_filesystem(fs)
            files = "[" + ", ".join(f"'s3://bench-lake/{loc.key(r)}'" for r in sorted(snap.files)) + "]"
            times = []
            for _ in range(2):
                t0 = time.perf_counter()
                row = con.execute(query.format(src=files)).fetchone()
                times.append(time.perf_counter() - t0)
            results["read_fsspec"] = {"query_cold_s": round(times[0], 3), "query_warm_s": round(times[1], 3),
                                      "rows": row[0]}
        except ModuleNotFoundError:
            results["read_fsspec"] = {"skipped": "s3fs not installed"}
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'path':<22}{'seconds':>10}{'events/s':>12}")
    for k in ("local", "s3"):
        print(f"{'ingest ' + k:<22}{results[k]['seconds']:>10.2f}{results[k]['events_per_s']:>12,.0f}")
    print(f"s3/local time ratio: {results['s3_vs_local_time_ratio']} (median of {args.repeats} alternating runs each; "
          f"load {[x['load_1m'] for x in results['s3']['runs']]})")
    print(f"DuckDB over the mirror: sync cold {results['read_mirror']['sync_cold_s']}s, warm "
          f"{results['read_mirror']['sync_warm_s']}s, query {results['read_mirror']['query_s']}s")
    if "query_cold_s" in results.get("read_fsspec", {}):
        print(f"DuckDB through s3fs: query cold {results['read_fsspec']['query_cold_s']}s, "
              f"warm {results['read_fsspec']['query_warm_s']}s")
    out = REPO / "benchmarks" / "results" / "s3_ingest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
