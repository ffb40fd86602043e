package io.ballast.replication.space;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Decides, on a group's leader, whether a write may enter the Raft log: not when a majority of the
 * group's members have their disks above the full ratio (the entry could not commit once their
 * disks run out, and the client would wait instead of hearing ENOSPC: NO_SPACE now is the honest
 * answer), and not while this node, the leader, is full itself (its own log would run out first:
 * the write waits while the leadership moves to a member with room, see {@code LeaderHandoff}).
 * A full minority of followers does not refuse: the majority carries the volume, and a full replica
 * pauses by itself when its disk does run out (DiskFullWait, the journal's wait, the stuck log
 * watchdog).
 *
 * <p>Other nodes' levels come from the catalog (each heartbeat reply lists the full nodes, see
 * {@link #peersFull}); without a catalog, or when its answer is older than {@link #PEERS_VALID_MILLIS},
 * only this node's own disk counts. Thread-safe.
 */
public final class SpaceGuard {
    static final long PEERS_VALID_MILLIS = 15_000;

    private final String self;
    private final DiskSpace local;
    private final LongSupplier clock;
    private volatile Set<String> fullPeers = Set.of();
    private volatile long peersAt = Long.MIN_VALUE;

    public SpaceGuard(String self, DiskSpace local) {
        this(self, local, System::currentTimeMillis);
    }

    SpaceGuard(String self, DiskSpace local, LongSupplier clock) {
        this.self = self;
        this.local = local;
        this.clock = clock;
    }

    public DiskSpace local() {
        return local;
    }

    /** The nodes the catalog last said are above their full ratio (this node's own entry is ignored). */
    public void peersFull(Collection<String> nodeIds) {
        fullPeers = Set.copyOf(nodeIds);
        peersAt = clock.getAsLong();
    }

    /**
     * Why a write to a group of {@code members} (node ids) must be refused now, or null.
     * {@link Refusal#moveLeadership()}: only this node, the leader, is full while most members are
     * not; the write should wait for the leadership to move to one of them ({@link #roomyPeers}).
     */
    public Refusal refusal(Collection<String> members) {
        List<String> full = fullPeers(members);
        boolean selfFull = local.reading().level() == DiskLevel.FULL;
        int fullCount = full.size() + (selfFull ? 1 : 0);
        if (fullCount > members.size() / 2) {
            if (selfFull) {
                full.add(0, self);
            }
            return new Refusal(false, (full.size() == 1 ? "the disk of node " + full.get(0) + " is"
                    : "the disks of nodes " + String.join(", ", full) + " are") + " above the full ratio"
                    + (members.size() > 1 ? ", a majority of the volume's " + members.size() + " replicas" : "")
                    + (selfFull ? " (" + self + ": " + local.reading().describe() + ")" : ""));
        }
        if (selfFull) {
            return new Refusal(true, "the disk of node " + self + ", which leads the volume, is " + local.reading().describe()
                    + ", above its full ratio " + percent(local.watermarks().full()) + "; leadership moves to a replica with room");
        }
        return null;
    }

    /** A refused write: why, and whether moving the leadership off this node would let it pass. */
    public record Refusal(boolean moveLeadership, String why) {}

    /**
     * False when no refusal is possible now (no disk known full): lets the write path skip reading
     * the group's members for every entry.
     */
    public boolean anyFull() {
        return localFull() || (!fullPeers.isEmpty() && clock.getAsLong() - peersAt <= PEERS_VALID_MILLIS);
    }

    /** True when this node's disk is above its full ratio. */
    public boolean localFull() {
        return local.reading().level() == DiskLevel.FULL;
    }

    /** The members other than this node that the catalog does not report full (all others when it has not spoken lately). */
    public List<String> roomyPeers(Collection<String> members) {
        List<String> full = fullPeers(members);
        List<String> roomy = new ArrayList<>();
        for (String m : members) {
            if (!m.equals(self) && !full.contains(m)) {
                roomy.add(m);
            }
        }
        return roomy;
    }

    private List<String> fullPeers(Collection<String> members) {
        List<String> full = new ArrayList<>();
        if (clock.getAsLong() - peersAt > PEERS_VALID_MILLIS) {
            return full;
        }
        Set<String> peers = fullPeers;
        for (String m : members) {
            if (!m.equals(self) && peers.contains(m)) {
                full.add(m);
            }
        }
        return full;
    }

    private static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.0f%%", ratio * 100);
    }
}
