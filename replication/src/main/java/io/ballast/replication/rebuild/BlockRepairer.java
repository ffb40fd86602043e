package io.ballast.replication.rebuild;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.replication.entry.VolumeLogLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Repairs blocks of this node's replica that fail their checksum by copying them from a healthy
 * peer of the volume's group (DESIGN invariant 4), and counts what it finds. Used by reads
 * ({@link #readRepairing}) and by the scrub ({@link ReplicaScrub}).
 *
 * <p><b>Fetching.</b> Each bad block is asked of the peers in turn, the leader first (it has
 * applied the most), with two read-only queries sent to that one peer: QUERY_INFO (its applied
 * index I), then QUERY_READ of the block. The peer's store verifies its own checksum on that read,
 * so a copy that arrives is one its holder vouches for; a peer whose copy is bad too answers
 * CORRUPTION and the next one is asked. With no healthy copy anywhere the block is counted
 * unrepairable and the read fails CORRUPTION (NBD EIO): never data.
 *
 * <p><b>Why a fetched copy never rolls this replica back.</b> A replica's blocks reflect the
 * entries it has applied, up to its applied index A. Writing a copy older than A would lose, on
 * this replica and for good, a write applied here after the copy was taken (the log is not
 * replayed). Two facts rule that out:
 * <ol>
 *   <li>The peer writes an entry to its store before it raises its applied index, and answers
 *   QUERY_INFO before it serves the read, so the copy reflects at least index I (perhaps more).
 *   <li>The local rewrite runs under the write side of {@link LocalReplica#repairGuard},
 *   whose read side every apply holds from its first store write until its applied index is
 *   raised. Under the guard A is stable, and the copy is written only if A <= I; otherwise the
 *   block is fetched again. Peers may trail a replica that keeps applying (the leader under
 *   steady writes), so after a few such rounds the repair holds the guard while it fetches: A then
 *   stands still and a peer reaches it within milliseconds (commit does not wait for this
 *   replica's apply), at the price of stalling applies here for that long, at most
 *   {@link #HELD_CATCH_UP_NANOS}, once per bad block.
 * </ol>
 * So the copy reflects some index S >= I >= A. If S > A this replica briefly holds the block ahead
 * of its applied index; it then applies entries A+1..S over it again, and since every record sets
 * a byte range to given content (sizes only grow), that converges to the same bytes, as for
 * {@link BlockCopier}. A read meanwhile may see a committed write whose acknowledgement is still
 * on its way, which a disk allows for a write in flight.
 *
 * <p>Repairs are refused while the replica is being rebuilt (its applied index then says nothing
 * about its blocks). Repairs of one replica are serialised, so a block a concurrent repair has just
 * fixed is found healthy and neither fetched nor counted twice.
 *
 * <p>Threading: thread-safe; blocking (network round trips): never call it on a Ratis thread.
 */
public final class BlockRepairer {
    private static final Logger LOG = LoggerFactory.getLogger(BlockRepairer.class);
    private static final int B = LocalBlockStore.BLOCK_SIZE;
    /** Rounds over the peers while applies go on, before holding them (see {@link #repairBlock}). */
    private static final int OPTIMISTIC_ROUNDS = 3;
    /** How long applies here are held at most while waiting for a peer to reach this replica's index. */
    static final long HELD_CATCH_UP_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** A read re-reads after a repair; a block rotting again at once is not worth a third round. */
    private static final int READ_ATTEMPTS = 2;

    private final LocalReplica replica;
    private final Object serial = new Object();
    private final AtomicLong found = new AtomicLong();
    private final AtomicLong repaired = new AtomicLong();
    private final AtomicLong unrepairable = new AtomicLong();
    private final Set<Long> unrepairableBlocks = ConcurrentHashMap.newKeySet();
    /** First blocks of the ranges {@link #repairLater} has queued and not finished. */
    private final Set<Long> queued = ConcurrentHashMap.newKeySet();
    /** Where the counters and known-bad blocks are kept across restarts; null before {@link #open}. */
    private Path recordFile;
    private IntegrityRecord written = IntegrityRecord.NONE;
    /** Test hook: runs between fetching a copy and writing it (to race an apply against it). */
    volatile Runnable afterFetch = () -> {};

    public BlockRepairer(LocalReplica replica) {
        this.replica = replica;
    }

    /**
     * Loads what this replica's repairs found before a restart ({@link IntegrityRecord} in
     * {@code file}) and keeps it there from now on; then drops the known-bad blocks that read back
     * healthy (overwritten meanwhile). Call once the replica's store is open, if it has one.
     */
    public void open(Path file) {
        synchronized (serial) {
            recordFile = file;
            IntegrityRecord r;
            try {
                r = IntegrityRecord.read(file);
            } catch (IOException e) {
                r = null;
            }
            if (r == null) {
                LOG.warn("{}: its integrity record {} is unreadable or damaged: counters start from zero, and the next "
                        + "scrub finds any block with no healthy copy again", replica.getId(), file);
                r = IntegrityRecord.NONE;
            }
            written = r;
            found.set(r.found());
            repaired.set(r.repaired());
            unrepairable.set(r.unrepairable());
            for (long b : r.badBlocks()) {
                unrepairableBlocks.add(b);
            }
            dropHealed();
            if (!unrepairableBlocks.isEmpty()) {
                LOG.warn("volume {}: {} block(s) known from before the restart to have no healthy copy: {}",
                        replica.volumeName(), unrepairableBlocks.size(), unrepairableBlocks.stream().sorted().limit(16).toList());
            }
        }
    }

    /**
     * Forgets the known-bad blocks that verify healthy now (overwritten since, or the replica was
     * rebuilt from a peer) and keeps the record up to date. Cheap: a block read per known-bad block.
     */
    public void dropHealed() {
        synchronized (serial) {
            if (!unrepairableBlocks.isEmpty()) {
                LocalBlockStore store;
                try {
                    store = replica.store();
                } catch (BallastException e) {
                    store = null; // not created yet (a new group): nothing is known bad either
                }
                if (store != null) {
                    LocalBlockStore s = store;
                    unrepairableBlocks.removeIf(b -> b >= s.size() / B || s.verify(b, b + 1).isEmpty());
                }
            }
            persist();
        }
    }

    /** Writes the record when it changed (under {@link #serial}); a failure keeps it in memory. */
    private void persist() {
        IntegrityRecord now = new IntegrityRecord(found.get(), repaired.get(), unrepairable.get(),
                unrepairableBlocks.stream().mapToLong(Long::longValue).toArray());
        if (recordFile == null || now.equals(written)) {
            return;
        }
        try {
            now.write(recordFile);
            written = now;
        } catch (IOException e) {
            LOG.warn("{}: cannot write its integrity record {}: {}; kept in memory", replica.getId(), recordFile, e.toString());
        }
    }

    /**
     * Reads from the local store like {@link LocalBlockStore#read}; when that hits CORRUPTION, repairs
     * every bad block of the range from a peer and reads again. CORRUPTION when some block has no
     * healthy copy.
     */
    public void readRepairing(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        for (int attempt = 1; ; attempt++) {
            try {
                replica.store().read(offset, dst);
                return;
            } catch (BallastException e) {
                if (e.code() != ErrorCode.CORRUPTION || attempt == READ_ATTEMPTS) {
                    throw e;
                }
                // the store left dst untouched (position restored)
                int left;
                RaftClient client = newClient();
                try {
                    left = repairRange(client, offset / B, (offset + length + B - 1) / B, "read");
                } finally {
                    closeQuietly(client);
                }
                if (left > 0) {
                    throw new BallastException(ErrorCode.CORRUPTION, "volume " + replica.volumeName() + ": " + left
                            + " block(s) of [" + offset + ", +" + length + ") fail their checksum on this replica and "
                            + "no peer gave a healthy copy (the node's log says why)", e);
                }
            }
        }
    }

    /**
     * {@link #readRepairing} on a thread of its own, for a caller that must not wait on the network
     * (a Ratis thread answering a diskless frontend's read). Completes with the read done into
     * {@code dst}, or with CORRUPTION when some block has no healthy copy.
     */
    public CompletableFuture<Void> readRepairingAsync(long offset, ByteBuffer dst) {
        return CompletableFuture.runAsync(() -> readRepairing(offset, dst),
                r -> Thread.ofVirtual().name("ballast-read-repair").start(r));
    }

    /**
     * A bad block of [offset, +length) noticed while serving a peer's read (the peer asks another
     * replica meanwhile): verified and repaired here in the background, once at a time per range,
     * rather than left for this replica's next read or scrub of it. Blocks already known
     * unrepairable here are not tried again (a read, a scrub or a rewrite still does).
     */
    public void repairLater(long offset, int length, String cause) {
        long from = offset / B;
        long to = (offset + length + B - 1) / B;
        if (!queued.add(from)) {
            return;
        }
        Thread.ofVirtual().name("ballast-peer-noticed-repair").start(() -> {
            RaftClient client = null;
            try {
                client = newClient();
                repairRange(client, from, to, cause, true);
            } catch (RuntimeException e) {
                LOG.warn("volume {}: repair of blocks [{}, {}) ({}) failed: {}", replica.volumeName(), from, to, cause,
                        e.toString());
            } finally {
                if (client != null) {
                    closeQuietly(client);
                }
                queued.remove(from);
            }
        });
    }

    /**
     * Verifies blocks [fromBlock, toBlock) and repairs those that fail their checksum. Returns how
     * many are left unrepairable.
     */
    int repairRange(RaftClient client, long fromBlock, long toBlock, String cause) {
        return repairRange(client, fromBlock, toBlock, cause, false);
    }

    /**
     * As above; with {@code skipKnown}, blocks already known unrepairable are left alone (not
     * tried, not counted again). A repair a peer's request set off skips them: two replicas whose
     * copies are both bad would otherwise set off each other's repairs for ever.
     */
    private int repairRange(RaftClient client, long fromBlock, long toBlock, String cause, boolean skipKnown) {
        synchronized (serial) {
            LocalBlockStore store = replica.store();
            List<Long> bad = store.verify(fromBlock, toBlock);
            // Known-bad blocks of the range that verify now were overwritten since: healthy again.
            boolean forgot = unrepairableBlocks.removeIf(b -> b >= fromBlock && b < toBlock && !bad.contains(b));
            int left = 0;
            for (long block : bad) {
                if (skipKnown && unrepairableBlocks.contains(block)) {
                    left++;
                    continue;
                }
                found.incrementAndGet();
                if (repairBlock(client, store, block, cause)) {
                    repaired.incrementAndGet();
                    unrepairableBlocks.remove(block);
                } else {
                    unrepairable.incrementAndGet();
                    unrepairableBlocks.add(block);
                    left++;
                }
            }
            if (forgot || !bad.isEmpty()) {
                persist(); // not per clean 8 MiB step of a scrub
            }
            return left;
        }
    }

    private enum Outcome { REPAIRED, STALE, NO_COPY }

    private boolean repairBlock(RaftClient client, LocalBlockStore store, long block, String cause) {
        if (replica.rebuilding()) {
            LOG.error("volume {}: block {} at offset {} fails its checksum ({}); not repaired: this replica is "
                    + "being rebuilt", replica.volumeName(), block, block * B, cause);
            return false;
        }
        List<String> refusals = new ArrayList<>();
        Outcome outcome = Outcome.STALE;
        for (int round = 0; round < OPTIMISTIC_ROUNDS && outcome == Outcome.STALE; round++) {
            if (round > 0) {
                sleep(20);
            }
            outcome = tryPeers(client, store, block, cause, refusals, false);
        }
        if (outcome == Outcome.STALE) {
            // Under steady writes the peers may trail a moving applied index for good (this replica
            // leads, they follow a few entries behind). Hold applies here so it stands still, and
            // give a peer a moment to reach it; commit does not wait for this replica's apply.
            Lock guard = replica.repairGuard().writeLock();
            guard.lock();
            try {
                long deadline = System.nanoTime() + HELD_CATCH_UP_NANOS;
                do {
                    sleep(10);
                    outcome = tryPeers(client, store, block, cause, refusals, true);
                } while (outcome == Outcome.STALE && System.nanoTime() < deadline);
            } finally {
                guard.unlock();
            }
        }
        if (outcome != Outcome.REPAIRED) {
            LOG.error("volume {}: block {} at offset {} fails its checksum ({}) and cannot be repaired: {}",
                    replica.volumeName(), block, block * B, cause, refusals.isEmpty() ? "no peers" : refusals);
        }
        return outcome == Outcome.REPAIRED;
    }

    /** One round over the peers, leader first. {@code held}: the caller holds the guard's write side. */
    private Outcome tryPeers(RaftClient client, LocalBlockStore store, long block, String cause, List<String> refusals,
            boolean held) {
        refusals.clear();
        boolean stale = false;
        for (RaftPeerId peer : peersLeaderFirst()) {
            Copy copy;
            try {
                copy = fetch(client, peer, block, replica.appliedIndex());
            } catch (BallastException e) {
                refusals.add(peer + ": " + e.code() + " " + e.getMessage());
                continue;
            }
            if (copy == null) {
                stale = true;
                refusals.add(peer + ": behind this replica's applied index");
                continue;
            }
            if (!held) {
                afterFetch.run(); // (never while applies are held: the hook waits for one)
            }
            if (writeIfNotOlder(store, block, copy)) {
                LOG.warn("volume {}: block {} at offset {} failed its checksum ({}); repaired from {} (its applied "
                        + "index {} >= ours)", replica.volumeName(), block, block * B, cause, peer, copy.index());
                return Outcome.REPAIRED;
            }
            stale = true; // this replica applied more meanwhile: fetch a newer copy
            refusals.add(peer + ": copy older than an entry applied here meanwhile");
        }
        return stale ? Outcome.STALE : Outcome.NO_COPY;
    }

    private record Copy(long index, ByteBuffer data) {}

    /** The peer's copy of the block and its applied index before the read, or null when it lags {@code needIndex}. */
    private static Copy fetch(RaftClient client, RaftPeerId peer, long block, long needIndex) {
        VolumeLogLayout.Info info = VolumeLogLayout.Info.decode(query(client, peer, VolumeLogLayout.queryInfo()));
        if (info.index() < needIndex) {
            return null;
        }
        ByteBuffer data = query(client, peer, VolumeLogLayout.queryRead(block * B, B));
        if (data.remaining() != B) {
            throw new BallastException(ErrorCode.INTERNAL, "returned " + data.remaining() + " bytes for one block");
        }
        return new Copy(info.index(), data);
    }

    private static ByteBuffer query(RaftClient client, RaftPeerId peer, ByteBuffer request) {
        return PeerQuery.ask(client, peer, request, "repair query");
    }

    /** Writes the copy unless this replica has applied past the copy's index (see class comment). */
    private boolean writeIfNotOlder(LocalBlockStore store, long block, Copy copy) {
        Lock guard = replica.repairGuard().writeLock();
        guard.lock();
        try {
            if (replica.appliedIndex() > copy.index()) {
                return false;
            }
            store.write(block * B, copy.data()); // a whole block: written without reading the bad one
            return true;
        } finally {
            guard.unlock();
        }
    }

    private List<RaftPeerId> peersLeaderFirst() {
        return PeerQuery.peersLeaderFirst(replica);
    }

    public long found() {
        return found.get();
    }

    public long repaired() {
        return repaired.get();
    }

    public long unrepairable() {
        return unrepairable.get();
    }

    public long unrepairableBlocks() {
        return unrepairableBlocks.size();
    }

    /** A client for repair queries ({@link PeerQuery#newClient}). */
    RaftClient newClient() {
        return PeerQuery.newClient(replica);
    }

    public static void closeQuietly(RaftClient client) {
        try {
            client.close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("closing a repair client: {}", e.toString());
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "repair interrupted", e);
        }
    }
}
