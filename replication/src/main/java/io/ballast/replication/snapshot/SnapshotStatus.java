package io.ballast.replication.snapshot;

/**
 * One snapshot of a volume as this replica knows it.
 *
 * @param id            snapshot id
 * @param volume        the volume it was taken of
 * @param sizeBytes     the volume's size when taken (0 when unknown: an interrupted copy)
 * @param createdMillis when the snapshot was requested (the leader's clock, the same on every replica)
 * @param logIndex      index of its SNAPSHOT entry in the volume's log (-1 when unknown)
 * @param registered    the group took this snapshot (it is in the replicated registry)
 * @param complete      this replica holds a complete, readable copy
 * @param note          why this replica does not hold a complete copy, empty when it does
 */
public record SnapshotStatus(String id, String volume, long sizeBytes, long createdMillis, long logIndex,
        boolean registered, boolean complete, String note) {}
