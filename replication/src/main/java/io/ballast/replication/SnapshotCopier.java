package io.ballast.replication;

import io.ballast.replication.ratis.RatisErrors;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Rebuilds a replica by copying every block from the leader (a new or wiped follower whose next
 * log entry the leader has purged, or a member just added). Memory is bounded: at most
 * {@link #IN_FLIGHT} chunks of {@link #CHUNK} are requested at a time.
 *
 * <p><b>Why a copy of a live store is correct.</b> It first asks the leader for its applied
 * (term, index) T0 and epoch, then reads the blocks while the leader keeps applying. Every block read
 * reflects at least T0; the follower then reports T0 to Ratis as its snapshot, so the leader resends
 * every entry after T0 and the follower re-applies them in order. Each record sets a byte range to
 * given content (or zeroes), and sizes only grow, so replaying an entry whose effect the copy
 * already holds converges to the same final bytes. Chunks are disjoint ranges, so the order in
 * which they land does not matter. If the leader purges past T0 during the copy, it simply asks
 * for another rebuild.
 *
 * <p><b>Speed.</b> One chunk at a time waited a full round trip (query, read, reply, write) per
 * MiB. Now {@link #IN_FLIGHT} queries overlap, and the source answers an all-zero chunk with an
 * empty reply (FLAG_SPARSE) that the copy turns into a punched hole, so the unwritten part of a
 * volume costs no transfer and no write. Adding a 4th replica of a 1 GiB volume holding 512 MiB
 * of data (2 cores, four fresh JVMs): 12.5 s before, 7.6-8.0 s after; 4 MiB chunks, 4 in flight,
 * gave the same (the time is CPU: gRPC copies and the new JVMs' JIT).
 */
final class SnapshotCopier {
    static final int CHUNK = 1 << 20;
    static final int IN_FLIGHT = 8;

    /** Progress of the current (or last) rebuild of a replica, for status. */
    static final class Progress {
        final AtomicLong bytesDone = new AtomicLong();
        final AtomicLong bytesTotal = new AtomicLong();
    }

    private final RaftClient client;
    private final RaftPeerId source;
    private final Progress progress;

    SnapshotCopier(RaftClient client, RaftPeerId source, Progress progress) {
        this.client = client;
        this.source = source;
        this.progress = progress;
    }

    /**
     * The copy's outcome: the leader's state when it began (T0: the copy holds at least that; the
     * log is replayed from there) and the leader's applied index once every chunk was read (the
     * fence: no block copied is newer than it, so once this replica has applied past it, its store
     * is exactly its applied state again; snapshots at or below it cannot be taken here).
     */
    record Copied(VolumeLogLayout.Info start, long fence) {}

    Copied copy(VolumeStateMachine target) throws IOException {
        RaftClientReply infoReply = client.io().sendStaleRead(message(VolumeLogLayout.queryInfo()), 0, source);
        VolumeLogLayout.Info info = VolumeLogLayout.Info.decode(content(infoReply));
        LocalBlockStore store = target.openStore(info.name(), info.size());
        if (store.size() < info.size()) {
            store.resize(info.size());
        }
        progress.bytesDone.set(0); // before the total: done == total must only ever mean finished
        progress.bytesTotal.set(info.size());
        Semaphore window = new Semaphore(IN_FLIGHT);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try {
            for (long off = 0; off < info.size() && failure.get() == null; off += CHUNK) {
                window.acquire();
                long at = off;
                int len = (int) Math.min(CHUNK, info.size() - off);
                client.async().sendStaleRead(message(VolumeLogLayout.queryRead(at, len, VolumeLogLayout.FLAG_SPARSE)), 0, source)
                        .thenAccept(reply -> land(store, at, len, content(reply)))
                        .whenComplete((v, t) -> {
                            if (t != null) {
                                failure.compareAndSet(null, t);
                            }
                            window.release();
                        });
            }
            window.acquire(IN_FLIGHT); // every chunk landed (or failed)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("rebuild from " + source + " interrupted");
        }
        if (failure.get() != null) {
            throw RatisErrors.map(failure.get(), "rebuild from " + source);
        }
        store.checkpoint();
        VolumeLogLayout.Info end = VolumeLogLayout.Info.decode(content(
                client.io().sendStaleRead(message(VolumeLogLayout.queryInfo()), 0, source)));
        return new Copied(info, end.index());
    }

    /** Writes one chunk: an empty reply means the source holds zeroes there (keep the replica as sparse). */
    private void land(LocalBlockStore store, long offset, int len, ByteBuffer data) {
        if (data.remaining() == 0) {
            store.writeZeroes(offset, len, true);
        } else if (data.remaining() != len) {
            throw new BallastException(ErrorCode.INTERNAL, "leader returned " + data.remaining() + " of " + len + " bytes");
        } else {
            store.write(offset, data);
        }
        progress.bytesDone.addAndGet(len);
    }

    private ByteBuffer content(RaftClientReply reply) {
        BallastException e = RatisErrors.of(reply, "rebuild query to " + source);
        if (e != null) {
            throw e;
        }
        return reply.getMessage().getContent().asReadOnlyByteBuffer();
    }

    private static Message message(ByteBuffer request) {
        return Message.valueOf(UnsafeByteOperations.unsafeWrap(request));
    }
}
