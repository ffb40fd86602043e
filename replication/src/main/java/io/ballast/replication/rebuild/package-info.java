/**
 * Bringing a replica back to the group's content: changed-block tracking
 * ({@link io.ballast.replication.rebuild.RegionGenerations}) for incremental rebuilds, the paced block
 * copy from the leader ({@link io.ballast.replication.rebuild.BlockCopier}) and its hand-over, repair of
 * single blocks from a peer ({@link io.ballast.replication.rebuild.BlockRepairer}) and the scrub that
 * finds them. It sees the replica it works on only through {@link io.ballast.replication.rebuild.LocalReplica}.
 */
package io.ballast.replication.rebuild;
