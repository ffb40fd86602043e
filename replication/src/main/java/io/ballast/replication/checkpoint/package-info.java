/**
 * Ratis checkpoints of a volume replica (Ratis calls them snapshots; here "snapshot" is only the
 * user's): the checkpoint file, when to take one ({@link io.ballast.replication.checkpoint.CheckpointTrigger}),
 * and the byte budget that bounds the Raft log and journal ({@link io.ballast.replication.checkpoint.LogBudget},
 * {@link io.ballast.replication.checkpoint.LogPurgePoints}, {@link io.ballast.replication.checkpoint.ReplicaLogSpace}).
 */
package io.ballast.replication.checkpoint;
