package io.ballast.replication.frontend;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.statemachine.ReplicaQueries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Reads of a volume attached on a node that holds no replica of it (a "diskless" frontend): each
 * read is a Raft linearizable query to the group's leader (a read index confirmed by the leader's
 * lease or a heartbeat round, applied there) that carries the handle's writer epoch; the leader
 * answers FAILED_PRECONDITION when another epoch is the volume's, so a superseded frontend never
 * gets data, as with the local {@link ReadFence}. Reads are cut into {@link ReplicaQueries#MAX_READ}
 * chunks; without a leader they are asked again within the writes' budget. The size is the
 * leader's at attach (the handle adds its own RESIZEs).
 */
public final class LeaderReplicaAccess implements ReplicaAccess {
    private static final long RETRY_PAUSE_MS = 100;

    private final String name;
    private final long epoch;
    /** The handle's current Ratis client (replaced when Ratis closes it). */
    private final Supplier<RaftClient> client;
    /** Replaces a client Ratis closed for good, unless replaced already; returns the one to use. */
    private final UnaryOperator<RaftClient> renew;
    private final AtomicLong reads = new AtomicLong();
    private volatile long size;
    private volatile long supersededBy;

    LeaderReplicaAccess(String name, long epoch, Supplier<RaftClient> client, UnaryOperator<RaftClient> renew) {
        this.name = name;
        this.epoch = epoch;
        this.client = client;
        this.renew = renew;
    }

    @Override
    public void attached(long index) {
        VolumeLogLayout.Info info;
        try {
            RaftClientReply r = client.get().io().sendReadOnly(message(VolumeLogLayout.queryInfo()));
            BallastException e = RatisErrors.of(r, "attach " + name + ": read the volume's size from its leader");
            if (e != null) {
                throw e;
            }
            info = VolumeLogLayout.Info.decode(r.getMessage().getContent().asReadOnlyByteBuffer());
        } catch (IOException e) {
            throw RatisErrors.map(e, "attach " + name + ": read the volume's size from its leader");
        }
        if (info.epoch() != epoch) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "attach " + name + ": epoch " + epoch
                    + " superseded by " + info.epoch() + " before it could be used");
        }
        size = info.size();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst, long lastAcked) {
        reads.incrementAndGet();
        CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
        for (int pos = 0; pos < dst.remaining(); pos += ReplicaQueries.MAX_READ) {
            int len = Math.min(ReplicaQueries.MAX_READ, dst.remaining() - pos);
            ByteBuffer part = dst.slice(dst.position() + pos, len);
            long at = offset + pos;
            done = done.thenCompose(v -> readChunk(at, part, System.nanoTime()));
        }
        return done.thenRun(() -> dst.position(dst.limit())); // as the local store leaves it
    }

    private CompletableFuture<Void> readChunk(long offset, ByteBuffer part, long since) {
        if (fenced()) {
            return CompletableFuture.failedFuture(fencedError());
        }
        Message q = message(VolumeLogLayout.queryRead(offset, part.remaining(), (byte) 0, epoch));
        RaftClient c = client.get();
        return c.async().sendReadOnly(q).handle((reply, t) -> {
            BallastException e = t != null ? RatisErrors.map(t, "read " + name) : RatisErrors.of(reply, "read " + name);
            if (e == null) {
                ByteBuffer data = reply.getMessage().getContent().asReadOnlyByteBuffer();
                if (data.remaining() != part.remaining()) {
                    throw new BallastException(ErrorCode.INTERNAL, "read " + name + ": the leader sent " + data.remaining()
                            + " bytes for " + part.remaining());
                }
                part.duplicate().put(data);
                return CompletableFuture.<Void>completedFuture(null);
            }
            if (e.code() == ErrorCode.FAILED_PRECONDITION && e.getMessage().contains("fenced:")) {
                superseded();
                return CompletableFuture.<Void>failedFuture(fencedError());
            }
            if (e.code() == ErrorCode.UNAVAILABLE && System.nanoTime() - since < ReplicatedBlockVolume.RETRY_BUDGET_NANOS) {
                // No leader right now (failover): ask again shortly, as writes do. A client Ratis
                // closed would fail every read until the next write replaced it (a frontend only
                // read from for 25 s answered EIO): replace it here too.
                if (RatisErrors.closedForGood(t)) {
                    renew.apply(c);
                }
                return CompletableFuture.supplyAsync(() -> null,
                        CompletableFuture.delayedExecutor(RETRY_PAUSE_MS, TimeUnit.MILLISECONDS))
                        .thenCompose(x -> readChunk(offset, part, since));
            }
            return CompletableFuture.<Void>failedFuture(e);
        }).thenCompose(f -> f);
    }

    @Override
    public boolean fenced() {
        return supersededBy != 0;
    }

    @Override
    public BallastException fencedError() {
        return new BallastException(ErrorCode.FAILED_PRECONDITION, name + ": fenced, writer epoch " + epoch
                + " was superseded (attached elsewhere); detach here or attach again");
    }

    @Override
    public void superseded() {
        supersededBy = epoch + 1;
    }

    @Override
    public long rounds() {
        return reads.get();
    }

    private static Message message(ByteBuffer b) {
        return Message.valueOf(UnsafeByteOperations.unsafeWrap(b));
    }
}
