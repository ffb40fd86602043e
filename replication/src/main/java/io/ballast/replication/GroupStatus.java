package io.ballast.replication;

import io.ballast.replication.rebuild.IntegrityStatus;
import java.util.Map;

/**
 * One volume group as seen from this node.
 *
 * @param volume           volume name
 * @param groupId          Raft group id (derived from the name)
 * @param role             LEADER, FOLLOWER, CANDIDATE, LISTENER
 * @param leaderId         current leader's node id, or null when unknown
 * @param term             current term
 * @param commitIndex      last committed log index known here
 * @param appliedIndex     last log index applied to this replica's store
 * @param writerEpoch      epoch of the attached writer (0: never attached)
 * @param rebuildBytesDone bytes copied by the current/last rebuild of this replica
 * @param rebuildBytesTotal bytes to copy in that rebuild (0: never rebuilt)
 * @param members          the group's members as this node knows them (node id -> raft address;
 *                         during a membership change, the configuration being moved to)
 * @param integrity        checksum failures, repairs and scrub progress of this replica
 * @param sharedBytes      bytes of large writes the store took from the entry journal by reference
 *                         since the replica opened (0 where the filesystem cannot share extents)
 */
public record GroupStatus(String volume, String groupId, String role, String leaderId, long term, long commitIndex,
        long appliedIndex, long writerEpoch, long rebuildBytesDone, long rebuildBytesTotal, Map<String, String> members,
        IntegrityStatus integrity, long sharedBytes) {
    public GroupStatus {
        members = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(members)); // sorted by node id
    }
}
