package io.ballast.replication.rebuild;

import io.ballast.engine.store.LocalBlockStore;
import java.util.concurrent.locks.ReadWriteLock;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;

/**
 * The replica on this node as repair, scrub and rebuild see it: its store, its progress through the
 * log and the lock that keeps a repair's write from overtaking an apply. The volume's state machine
 * implements it; this interface keeps the rebuild package below the state machine that drives it.
 */
public interface LocalReplica {
    /** The volume's name, for messages. */
    String volumeName();

    /** This node's peer id in the group, for messages; null before the server is up. */
    RaftPeerId getId();

    /** The open store; FAILED_PRECONDITION when the replica has none yet. */
    LocalBlockStore store();

    /** Opens the named store, creating it with {@code createSize} bytes when it does not exist. */
    LocalBlockStore openStore(String name, long createSize);

    /** The last log index applied to the store. */
    long appliedIndex();

    /** Whether a rebuild is copying into the store now (its blocks are not yet trustworthy). */
    boolean rebuilding();

    /**
     * A copy from the leader's state at {@code startIndex} is about to write the store: from now
     * on, applying an entry at or below that index waits for the copy's outcome, and writes the
     * store only if the copy failed (a succeeded copy holds at least its effect; written after a
     * copied block, it would put an older value back that no later entry corrects). Returns once
     * no such write is in progress.
     */
    void copyStarts(long startIndex);

    /** Applies hold the read side; a repair's block write holds the write side. */
    ReadWriteLock repairGuard();

    /** The Ratis parameters (TLS) a client this replica builds must use to reach its peers. */
    org.apache.ratis.conf.Parameters transport();

    /** The replica's Raft division, for its group and peers. */
    RaftServer.Division division();
}
