package io.ballast.replication.statemachine;

import static io.ballast.replication.entry.VolumeLogLayout.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.replication.ratis.RatisErrors;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Read-only queries a replica answers for its peers (rebuild and repair sources): QUERY_INFO (the
 * applied point, size, epoch, snapshot registry) and QUERY_READ (up to {@link #MAX_READ} bytes of
 * the store, all-zero ranges as an empty reply when asked for FLAG_SPARSE), QUERY_CHANGED (the
 * regions changed after a log index, for an incremental rebuild), QUERY_SNAPSHOT_READ (a range of
 * its copy of a snapshot, for a replica fetching the copy it lacks); and for its own node's
 * frontend, QUERY_FENCE (the applied writer epoch and index, see {@link io.ballast.replication.frontend.ReadFence ReadFence}). Stateless;
 * thread-safe.
 */
public final class ReplicaQueries {
    public static final int MAX_READ = 4 << 20;
    private static final ByteBuffer ZEROES = ByteBuffer.allocate(MAX_READ).asReadOnlyBuffer();

    private ReplicaQueries() {}

    /** The bytes read; all-zero ones as an empty reply when asked for FLAG_SPARSE (most of a new volume). */
    private static Message reply(ByteBuffer out, int flags) {
        if ((flags & FLAG_SPARSE) != 0 && out.mismatch(ZEROES.duplicate().limit(out.remaining())) == -1) {
            out = ByteBuffer.allocate(0);
        }
        return Message.valueOf(UnsafeByteOperations.unsafeWrap(out));
    }

    static CompletableFuture<Message> answer(VolumeStateMachine sm, Message request) {
        try {
            Entry e = decode(request.getContent());
            ByteBuffer out;
            if (e.kind() == KIND_QUERY_FENCE) {
                out = ByteBuffer.allocate(16).putLong(sm.epoch()).putLong(sm.appliedIndex()).flip();
            } else if (e.kind() == KIND_QUERY_CHANGED) {
                out = sm.changedSince(e.size()).encode();
            } else if (e.kind() == KIND_QUERY_INFO) {
                out = sm.currentInfo().encode();
            } else if (e.kind() == KIND_QUERY_READ && e.epoch() != 0) {
                return answerFrontendReads(sm, e);
            } else if (e.kind() == KIND_QUERY_READ && e.ops().size() == 1 && e.ops().get(0).length() <= MAX_READ) {
                // A peer's repair or rebuild read (no writer epoch: not fenced).
                Op op = e.ops().get(0);
                ByteBuffer buf = ByteBuffer.allocate((int) op.length());
                try {
                    sm.store().read(op.offset(), buf);
                } catch (BallastException bad) {
                    if (bad.code() == ErrorCode.CORRUPTION) {
                        // The peer asks another replica now; this one repairs its own copy meanwhile
                        // instead of waiting for its next read or scrub.
                        sm.repairer.repairLater(op.offset(), (int) op.length(), "noticed serving a peer");
                    }
                    throw bad;
                }
                return CompletableFuture.completedFuture(reply(buf.flip(), op.flags()));
            } else if (e.kind() == KIND_QUERY_SNAPSHOT_READ && e.ops().get(0).length() <= MAX_READ) {
                Op op = e.ops().get(0);
                ByteBuffer buf = ByteBuffer.allocate((int) op.length());
                try (SnapshotReader copy = sm.snapshots.openCopy(sm.volumeName(), e.name(), e.epoch())) {
                    copy.read(op.offset(), buf); // verifies every block: a bad one answers CORRUPTION
                }
                return CompletableFuture.completedFuture(reply(buf.flip(), op.flags()));
            } else {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "not a volume query");
            }
            return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(out)));
        } catch (BallastException e) {
            return CompletableFuture.failedFuture(RatisErrors.queryRefusal(e));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(RatisErrors.queryRefusal(
                    new BallastException(ErrorCode.INTERNAL, "query of " + sm.volumeName() + ": " + e, e)));
        }
    }

    /**
     * A diskless frontend's reads, one or a burst of them in one query (LeaderReplicaAccess), asked
     * at a read index: fenced as one read (a superseded writer gets no data, as the local read fence
     * guarantees), answered with the bytes of each range in turn. A block bad here is repaired from
     * a peer first (off this Ratis thread), as a local frontend's read would be, rather than an EIO
     * while peers hold good copies; a range that cannot be served fails the whole query, and the
     * frontend asks for each of its reads alone then, so only the bad one fails.
     */
    private static CompletableFuture<Message> answerFrontendReads(VolumeStateMachine sm, Entry e) {
        long total = 0;
        for (Op op : e.ops()) {
            if (op.length() < 0 || op.length() > MAX_READ) { // each bounded first: the sum cannot overflow
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "a read of " + op.length() + " bytes");
            }
            total += op.length();
        }
        if (total > MAX_READ) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "a query of " + total + " bytes, more than " + MAX_READ);
        }
        if (e.epoch() != sm.epoch()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "fenced: writer epoch " + e.epoch()
                    + " was superseded by " + sm.epoch());
        }
        ByteBuffer out = ByteBuffer.allocate((int) total);
        CompletableFuture<Void> repairs = CompletableFuture.completedFuture(null);
        int at = 0;
        for (Op op : e.ops()) {
            ByteBuffer part = out.slice(at, (int) op.length());
            at += (int) op.length();
            try {
                sm.store().read(op.offset(), part);
            } catch (BallastException bad) {
                if (bad.code() != ErrorCode.CORRUPTION) {
                    throw bad;
                }
                repairs = repairs.thenCompose(v -> sm.repairer.readRepairingAsync(op.offset(), part.clear()));
            }
        }
        return repairs.thenApply(v -> Message.valueOf(UnsafeByteOperations.unsafeWrap(out)))
                .exceptionallyCompose(t -> CompletableFuture.failedFuture(
                        RatisErrors.queryRefusal(RatisErrors.map(t, "read of " + sm.volumeName()))));
    }
}
