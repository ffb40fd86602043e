package io.ballast.replication.frontend;

/**
 * Which writer epoch an attachment uses. Every write entry carries its frontend's epoch, and the
 * state machine applies it only while that is the volume's epoch; an ATTACH entry must raise it.
 *
 * <ul>
 *   <li><b>Exclusive</b> (one writer, the default): an attach takes an even epoch above the
 *   current one and the time, fencing every earlier handle anywhere (their next write or read
 *   fails instead of touching data).
 *   <li><b>Shared</b> (a multi-writer block volume, CSI MULTI_NODE_MULTI_WRITER: KubeVirt live
 *   migration): the first shared attach raises the epoch to the next odd number, fencing any
 *   exclusive holder as above; every further shared attach <em>joins</em> that odd epoch without
 *   an entry, so the frontends write side by side. Two first attaches at once propose the same
 *   odd epoch: one ATTACH applies, the other is refused as not above it and then joins.
 * </ul>
 *
 * The parity is the only record of the mode: no entry, checkpoint or rebuild format changes, and
 * the state machine's rules stay as they were. A volume last attached before this rule with an
 * odd epoch counts as shared to a shared attach (its old writer is not fenced by that attach).
 */
public final class WriterEpochs {
    private WriterEpochs() {
    }

    /** An exclusive attachment's epoch after {@code current}: even, above it and {@code nowMillis}. */
    public static long nextExclusive(long current, long nowMillis) {
        long e = Math.max(current + 1, nowMillis);
        return (e & 1) == 0 ? e : e + 1;
    }

    /** Whether {@code epoch} is a shared attachment's: then a shared attach joins it. */
    public static boolean shared(long epoch) {
        return (epoch & 1) == 1;
    }

    /** The shared epoch a first shared attach proposes after the exclusive (or no) epoch {@code current}. */
    public static long firstShared(long current) {
        if (shared(current)) {
            throw new IllegalArgumentException("epoch " + current + " is shared already: join it");
        }
        return current + 1;
    }
}
