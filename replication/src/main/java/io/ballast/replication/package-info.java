/**
 * Replication: one Ratis server per node ({@link io.ballast.replication.RaftNode}) hosting one
 * Raft group per volume replica; {@link io.ballast.replication.VolumeStateMachine} applies a
 * volume's log ({@link io.ballast.replication.VolumeLogLayout}) to its local block store;
 * {@link io.ballast.replication.ReplicatedBlockVolume} is the frontend's group-committing,
 * fenced handle. Rebuild of a lost replica is a block copy from the leader
 * ({@link io.ballast.replication.SnapshotCopier}). Ratis's shaded types
 * ({@code org.apache.ratis.thirdparty}) never appear in public signatures; Ratis exceptions become
 * {@link io.ballast.engine.error.BallastException}s in one place ({@code ratis.RatisErrors}).
 */
package io.ballast.replication;

import io.ballast.replication.ratis.RatisErrors;
