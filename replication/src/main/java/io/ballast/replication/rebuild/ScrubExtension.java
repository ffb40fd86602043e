package io.ballast.replication.rebuild;

import org.apache.ratis.client.RaftClient;

/**
 * What a replica's scrub checks beyond its volume's blocks, after them: its snapshot copies (the
 * snapshot package implements it; this interface keeps the rebuild package below it).
 */
public interface ScrubExtension {
    /** Nothing beyond the volume. */
    ScrubExtension NONE = (client, pacer) -> Found.NOTHING;

    /** Blocks found failing their checksum, repaired from a peer, left bad. */
    record Found(long corrupt, long repaired, long unrepairable) {
        public static final Found NOTHING = new Found(0, 0, 0);
    }

    /** Verifies and repairs (asking peers through {@code client}), reading at {@code pacer}'s pace. */
    Found scrub(RaftClient client, RatePacer pacer) throws InterruptedException;
}
