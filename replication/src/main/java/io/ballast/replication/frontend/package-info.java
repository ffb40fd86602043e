/**
 * The write path: {@link io.ballast.replication.frontend.ReplicatedBlockVolume}, a volume's block
 * device as the frontend (NBD or FUSE) sees it. Writes are group-committed into log entries; reads are
 * served by the local replica or the leader behind a read fence that keeps a fenced-off frontend from
 * serving stale data.
 */
package io.ballast.replication.frontend;
