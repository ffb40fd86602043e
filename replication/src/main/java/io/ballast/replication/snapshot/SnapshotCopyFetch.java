package io.ballast.replication.snapshot;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReceiver;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.rebuild.LocalReplica;
import io.ballast.replication.rebuild.PeerQuery;
import io.ballast.replication.rebuild.RatePacer;
import io.ballast.replication.snapshot.SnapshotRegistry.Registered;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings this replica the snapshot copies it lacks, from peers that hold them. A replica rebuilt by
 * block copy after a snapshot (a wiped disk, a replica added or moved) never applied that
 * snapshot's entry, so it learns of the snapshot from the leader's registry but holds no copy; and
 * after every original replica was replaced, a snapshot the group still lists would have no copy
 * anywhere. So a snapshot is as durable as the volume only if its copies follow the replicas.
 *
 * <p>Each missing copy is read from one peer that holds it, {@link #CHUNK} at a time (ranges of
 * zeroes cross as empty answers and stay holes here), checked block by block by the peer's reader,
 * paced at the rebuild rate, written into a staging directory and installed complete
 * ({@link io.ballast.engine.store.VolumeSnapshots#install}). A peer without the copy, or with a
 * bad block in it, sends the fetch to the next peer. A snapshot deleted meanwhile is not installed
 * ({@link ReplicaSnapshots#installFetched}). What no peer could give is tried again later: at
 * first after {@link #FIRST_RETRY_SECONDS} s, doubling up to {@link #MAX_RETRY_SECONDS} s.
 *
 * <p>Threading: one fetch per replica at a time, on a virtual thread; {@link #stop} ends it.
 */
public final class SnapshotCopyFetch {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotCopyFetch.class);
    static final int CHUNK = 4 << 20;
    static final long FIRST_RETRY_SECONDS = 10;
    static final long MAX_RETRY_SECONDS = 600;

    private final LocalReplica replica;
    private final ReplicaSnapshots snapshots;
    private final long bytesPerSecond;
    /** Copies installed since this replica opened. */
    public final AtomicLong fetched = new AtomicLong();
    private final Set<String> reported = new HashSet<>();
    private Thread running;
    private volatile boolean stopped;
    /** Calls of {@link #start}: the fetch ends only when none came since it last looked. */
    private long requests;
    /** System.nanoTime() before which the fetch waits (its start's delay, a retry's backoff). */
    private volatile long notBefore;

    public SnapshotCopyFetch(LocalReplica replica, ReplicaSnapshots snapshots, long bytesPerSecond) {
        this.replica = replica;
        this.snapshots = snapshots;
        this.bytesPerSecond = bytesPerSecond;
    }

    /**
     * Starts fetching every missing copy after {@code delayMillis}. A fetch already waiting (its
     * start's delay, or before a retry) goes ahead then instead: a rebuild just ended.
     */
    public synchronized void start(long delayMillis) {
        long at = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMillis);
        if (stopped) {
            return;
        }
        requests++;
        if (running != null) { // it looks again before it ends (run)
            notBefore = Math.min(notBefore, at);
            return;
        }
        notBefore = at;
        running = Thread.ofVirtual().name("ballast-snapshot-fetch").start(this::run);
    }

    /** Waits until {@link #notBefore}, which {@link #start} may bring forward meanwhile. */
    private void waitTurn() throws InterruptedException {
        while (System.nanoTime() - notBefore < 0) {
            Thread.sleep(Math.min(100, Math.max(1, TimeUnit.NANOSECONDS.toMillis(notBefore - System.nanoTime()))));
        }
    }

    /** Ends the fetch (the replica closes): a copy being received is dropped. */
    public synchronized void stop() {
        stopped = true;
        if (running != null) {
            running.interrupt();
        }
    }

    private void run() {
        long retrySeconds = FIRST_RETRY_SECONDS;
        try {
            while (!stopped) {
                waitTurn();
                long seen;
                synchronized (this) {
                    seen = requests;
                }
                List<Registered> missing = snapshots.missing(replica.volumeName());
                if (missing.isEmpty()) {
                    synchronized (this) {
                        if (requests == seen) { // no start since the look: one after this sees no fetch running
                            running = null;
                            return;
                        }
                    }
                    continue; // a rebuild ended meanwhile: look again
                }
                boolean all = true;
                for (Registered r : missing) {
                    all &= fetch(r);
                }
                if (!all) {
                    synchronized (this) {
                        notBefore = System.nanoTime() + TimeUnit.SECONDS.toNanos(retrySeconds);
                    }
                    retrySeconds = Math.min(MAX_RETRY_SECONDS, retrySeconds * 2);
                }
            }
        } catch (InterruptedException e) {
            LOG.debug("volume {}: snapshot copy fetch stopped", replica.volumeName());
        } catch (RuntimeException e) { // the replica went away under the fetch
            LOG.debug("volume {}: snapshot copy fetch ended: {}", replica.volumeName(), e.toString());
        } finally {
            synchronized (this) {
                if (running == Thread.currentThread()) {
                    running = null;
                }
            }
        }
    }

    /** True when the copy is here now (or the snapshot is gone); false when no peer gave it. */
    private boolean fetch(Registered r) throws InterruptedException {
        List<String> refusals = new ArrayList<>();
        RaftClient client = PeerQuery.newClient(replica);
        try {
            for (RaftPeerId peer : PeerQuery.peersLeaderFirst(replica)) {
                try {
                    copyFrom(client, peer, r, refusals);
                    return true;
                } catch (BallastException e) {
                    if (Thread.currentThread().isInterrupted()) {
                        throw new InterruptedException();
                    }
                    refusals.add(peer + ": " + e.code() + " " + e.getMessage());
                }
            }
        } finally {
            try {
                client.close();
            } catch (Exception e) {
                LOG.debug("closing a snapshot fetch client: {}", e.toString());
            }
        }
        if (reported.add(r.id())) {
            LOG.warn("volume {}: no peer gave a copy of snapshot {} (index {}) that this replica lacks; trying again "
                    + "later: {}", replica.volumeName(), r.id(), r.index(), refusals.isEmpty() ? "no peers" : refusals);
        }
        return false;
    }

    private void copyFrom(RaftClient client, RaftPeerId peer, Registered r, List<String> refusedBefore)
            throws InterruptedException {
        String volume = replica.volumeName();
        RatePacer pacer = new RatePacer(bytesPerSecond);
        long started = System.nanoTime();
        long written = 0;
        try (SnapshotReceiver copy = snapshots.files().receive(volume, r.id(), r.sizeBytes(), r.index(), r.createdMillis())) {
            for (long at = 0; at < r.sizeBytes(); at += CHUNK) {
                if (stopped) {
                    throw new InterruptedException();
                }
                int len = (int) Math.min(CHUNK, r.sizeBytes() - at);
                pacer.take(len);
                ByteBuffer got = PeerQuery.ask(client, peer, VolumeLogLayout.querySnapshotRead(r.id(), r.index(), at, len,
                        VolumeLogLayout.FLAG_SPARSE), "snapshot copy query");
                if (got.remaining() == len) {
                    written += copy.write(at, got);
                } else if (got.remaining() != 0) {
                    throw new BallastException(ErrorCode.INTERNAL, "answered " + got.remaining() + " bytes for " + len);
                }
            }
            if (!snapshots.installFetched(copy, r.id(), r.index())) {
                LOG.info("volume {}: snapshot {} was deleted while its copy came from {}; dropped", volume, r.id(), peer);
                return;
            }
        }
        fetched.incrementAndGet();
        reported.remove(r.id());
        LOG.info("volume {}: copy of snapshot {} (index {}, {} bytes, {} of data) fetched from {} in {} ms{}", volume, r.id(),
                r.index(), r.sizeBytes(), written, peer, (System.nanoTime() - started) / 1_000_000,
                refusedBefore.isEmpty() ? "" : "; refused before by " + refusedBefore);
    }
}
