package io.ballast.replication.rebuild;

/**
 * Integrity of one replica (DESIGN invariant 4): what its checksums caught, what was repaired from
 * a peer, what could not be, and the progress of its scrub. The counters and the known-bad blocks
 * are kept on disk with the replica ({@link IntegrityRecord}): they count since the replica was
 * created on this node, across restarts; the scrub's own counts are since the node started.
 *
 * @param corruptBlocksFound  blocks found failing their checksum by a read or scrub (each one
 *                            counted once per repair attempt)
 * @param blocksRepaired      blocks rewritten here from a healthy peer's copy
 * @param unrepairableFound   repair attempts that found no healthy copy (the read failed with EIO)
 * @param unrepairableBlocks  blocks known bad here with no healthy copy right now; a block leaves this
 *                            set when a later read or scrub repairs it or finds it healthy
 * @param condition           {@code healthy}, {@code degraded: N unrepairable blocks}, or that
 *                            applying is paused on a full disk (the CSI volume condition carries it)
 * @param scrubRunning        a scrub of this replica is in progress
 * @param scrubBytesDone      bytes verified by the current (or last) scrub
 * @param scrubBytesTotal     bytes that scrub covers (0: never scrubbed)
 * @param scrubsCompleted     scrubs finished since start
 * @param lastScrubCompletedMillis when the last full scrub of this replica ended, kept across
 *                            restarts ({@link ScrubRecord}); 0: never
 */
public record IntegrityStatus(long corruptBlocksFound, long blocksRepaired, long unrepairableFound,
        long unrepairableBlocks, String condition, boolean scrubRunning, long scrubBytesDone, long scrubBytesTotal,
        long scrubsCompleted, long lastScrubCompletedMillis) {

    public boolean healthy() {
        return "healthy".equals(condition);
    }

    public static String condition(long unrepairableBlocks) {
        return unrepairableBlocks == 0 ? "healthy"
                : "degraded: " + unrepairableBlocks + " unrepairable block" + (unrepairableBlocks == 1 ? "" : "s");
    }
}
