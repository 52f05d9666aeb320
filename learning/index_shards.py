"""The pattern index built in shards: trained on a sample, filled in parallel, merged.

``learn --engine spark`` publishes its index this way (through :func:`learning.index.build_with`):

1. the driver picks the index kind with the local job's own rule (:func:`learning.index.new_faiss_index`:
   exact below ``ivf_threshold`` exemplars, IVF above) and, for IVF, trains the coarse quantizer on
   the same seeded sample of at most 200k vectors the local job trains on;
2. the trained, still empty index is broadcast; each Spark partition adds its slice of the
   exemplar vectors (with their int64 ids) to its own copy (the shards);
3. the driver merges the shards into one ``IndexIDMap2`` — the same index type, ids and vectors the
   local job's one-piece build has, so the router, incremental updates and ``set_nprobe`` treat
   it the same.

Only the merge is serial; it copies inverted lists, it does not search or train.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

#: At most this many vectors train the IVF quantizer (the local job's sample size).
TRAIN_SAMPLE = 200_000


def trained_empty_index(ids: np.ndarray, vectors_for: Callable[[np.ndarray], np.ndarray], dimension: int,
                        ivf_threshold: int, sample: int = TRAIN_SAMPLE, seed: int = 0) -> tuple[Any, str, int]:
    """The empty index the shards are filled from, chosen and trained exactly as
    ``learning.index.update_index`` does for a rebuild: (index, kind, nlist)."""
    from learning import index as idx

    train = None
    if len(ids) >= ivf_threshold:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(ids), min(len(ids), sample), replace=False))
        train = vectors_for(ids[pick])
    return idx.new_faiss_index(dimension, len(ids), ivf_threshold, train)


def merge_shards(blobs: list[bytes]) -> Any:
    """One ``IndexIDMap2`` from serialized shards that share one trained (empty) origin."""
    import faiss

    shards = [faiss.deserialize_index(np.frombuffer(b, dtype=np.uint8)) for b in blobs]
    merged = shards[0]
    inner = faiss.downcast_index(merged.index)
    if isinstance(inner, faiss.IndexIVF):
        # IndexIDMap2.merge_from would give the shards' inner sequence numbers twice: merge the
        # inverted lists with an offset, then the id maps.
        id_maps = [faiss.vector_to_array(merged.id_map)]
        for shard in shards[1:]:
            inner.merge_from(faiss.downcast_index(shard.index), inner.ntotal)
            id_maps.append(faiss.vector_to_array(shard.id_map))
        faiss.copy_array_to_vector(np.concatenate(id_maps).astype(np.int64), merged.id_map)
        merged.ntotal = inner.ntotal
        merged.construct_rev_map()
    else:
        for shard in shards[1:]:
            merged.merge_from(shard, 0)
    return merged


def fill_shards(spark: Any, empty: Any, ids: np.ndarray, vectors: np.ndarray, partitions: int) -> list[bytes]:
    """Each Spark partition adds its slice of (ids, vectors) to a copy of ``empty``; returns the
    serialized shards (one per non-empty partition, in id order of the slices)."""
    import faiss

    blob = bytes(faiss.serialize_index(empty))
    bc = spark.sparkContext.broadcast(blob)
    parts = max(1, min(int(partitions), len(ids)))
    slices = [(k, ids[s].astype(np.int64).tobytes(), np.ascontiguousarray(vectors[s], dtype=np.float32).tobytes())
              for k, s in enumerate(np.array_split(np.arange(len(ids)), parts))]
    dim = int(vectors.shape[1])

    def fill(part: Iterator[tuple[int, bytes, bytes]]) -> Iterator[tuple[int, bytes]]:
        import faiss as f

        for k, id_bytes, vec_bytes in part:
            index = f.deserialize_index(np.frombuffer(bc.value, dtype=np.uint8))
            xs = np.frombuffer(vec_bytes, dtype=np.float32).reshape(-1, dim)
            if len(xs):
                index.add_with_ids(xs, np.frombuffer(id_bytes, dtype=np.int64))
            yield k, bytes(f.serialize_index(index))

    try:
        shards = spark.sparkContext.parallelize(slices, parts).mapPartitions(fill).collect()
    finally:
        bc.unpersist()
    return [b for _, b in sorted(shards)]


def sharded_builder(spark: Any, partitions: int | None = None) -> Callable[..., tuple[Any, str, int]]:
    """A builder for :func:`learning.index.build_with`: ``(ids, vectors_for, dimension,
    ivf_threshold) -> (index, kind, nlist)`` with the shards filled on Spark."""
    parts = partitions or max(1, spark.sparkContext.defaultParallelism)

    def build(ids: np.ndarray, vectors_for: Callable[[np.ndarray], np.ndarray], dimension: int,
              ivf_threshold: int) -> tuple[Any, str, int]:
        ids = np.asarray(ids, dtype=np.int64)
        empty, kind, nlist = trained_empty_index(ids, vectors_for, dimension, ivf_threshold)
        if not len(ids):
            return empty, kind, nlist
        vectors = np.ascontiguousarray(vectors_for(ids), dtype=np.float32)
        blobs = fill_shards(spark, empty, ids, vectors, parts)
        build.shard_count = len(blobs)  # type: ignore[attr-defined]
        return merge_shards(blobs), kind, nlist

    build.shard_count = 0  # type: ignore[attr-defined]
    return build
