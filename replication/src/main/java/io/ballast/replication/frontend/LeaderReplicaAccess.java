package io.ballast.replication.frontend;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.statemachine.ReplicaQueries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
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
 * chunks, and reads that arrive while {@link #QUERIES_IN_FLIGHT} queries are out leave together in
 * the next ({@link QueryBursts}): one round trip, one read index and one reply for a burst, as the
 * local fence shares one round among the reads that wait for it. Queries go in the client's ordered
 * stream: Ratis's unordered one asks a refused query again for seconds (a fenced or corrupt read
 * must fail at once). Without a leader they are asked again within the writes' budget. The size is the leader's at attach (the handle adds its own RESIZEs).
 */
public final class LeaderReplicaAccess implements ReplicaAccess {
    private static final long RETRY_PAUSE_MS = 100;
    /**
     * Queries out at once per handle. Two: one is answered while the next burst waits; a read
     * arriving at an idle handle leaves at once. (-D to compare settings in tests/bench/diskless-bench.sh.)
     */
    static final int QUERIES_IN_FLIGHT = Integer.getInteger("ballast.diskless.queriesInFlight", 2);
    /** Reads per query at most (1, with 64 queries in flight: each read its own query, as before bursts). */
    static final int READS_PER_QUERY = Integer.getInteger("ballast.diskless.readsPerQuery", 256);

    /** A read (or a MAX_READ part of one) waiting for its bytes. */
    private record PendingRead(long offset, ByteBuffer dst, CompletableFuture<Void> done, long since) {}

    private final String name;
    private final long epoch;
    /** The handle's current Ratis client (replaced when Ratis closes it). */
    private final Supplier<RaftClient> client;
    /** Replaces a client Ratis closed for good, unless replaced already; returns the one to use. */
    private final UnaryOperator<RaftClient> renew;
    private final AtomicLong reads = new AtomicLong();
    private final QueryBursts<PendingRead> bursts = new QueryBursts<>(QUERIES_IN_FLIGHT, READS_PER_QUERY,
            ReplicaQueries.MAX_READ, p -> p.dst().remaining());
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
        if (fenced()) {
            return CompletableFuture.failedFuture(fencedError());
        }
        List<PendingRead> parts = new ArrayList<>();
        long now = System.nanoTime();
        for (int pos = 0; pos < dst.remaining(); pos += ReplicaQueries.MAX_READ) {
            int len = Math.min(ReplicaQueries.MAX_READ, dst.remaining() - pos);
            parts.add(new PendingRead(offset + pos, dst.slice(dst.position() + pos, len), new CompletableFuture<>(), now));
        }
        bursts.add(parts).forEach(this::sendBatch);
        CompletableFuture<Void> done = parts.size() == 1 ? parts.get(0).done()
                : CompletableFuture.allOf(parts.stream().map(PendingRead::done).toArray(CompletableFuture[]::new));
        return done.thenRun(() -> dst.position(dst.limit())); // as the local store leaves it
    }

    /** Sends a batch {@link #bursts} handed out; its slot is freed once every read in it is answered. */
    private void sendBatch(List<PendingRead> batch) {
        query(batch).whenComplete((v, t) -> {
            if (t != null) { // a fault of our own: fail the reads rather than leave their callers waiting
                BallastException e = new BallastException(ErrorCode.INTERNAL, "read " + name + ": " + t, t);
                batch.forEach(p -> p.done().completeExceptionally(e));
            }
            bursts.done().forEach(this::sendBatch);
        });
    }

    /**
     * Asks the leader for {@code batch}'s reads in one linearizable query. Completes when each read
     * has its bytes or its error: fenced, all fail; no leader, asked again within the writes'
     * budget; any other refusal of several reads, each is asked alone, so only a bad one fails.
     */
    private CompletableFuture<Void> query(List<PendingRead> batch) {
        if (fenced()) {
            batch.forEach(p -> p.done().completeExceptionally(fencedError()));
            return CompletableFuture.completedFuture(null);
        }
        Message q = message(VolumeLogLayout.queryReads(epoch, ranges(batch), batch.size()));
        RaftClient c = client.get();
        return c.async().sendReadOnly(q).handle((reply, t) -> {
            BallastException e = t != null ? RatisErrors.map(t, "read " + name) : RatisErrors.of(reply, "read " + name);
            if (e == null) {
                deliver(batch, reply.getMessage().getContent().asReadOnlyByteBuffer());
                return CompletableFuture.<Void>completedFuture(null);
            }
            if (e.code() == ErrorCode.FAILED_PRECONDITION && e.getMessage().contains("fenced:")) {
                superseded();
                batch.forEach(p -> p.done().completeExceptionally(fencedError()));
                return CompletableFuture.<Void>completedFuture(null);
            }
            long oldest = batch.stream().mapToLong(PendingRead::since).min().orElseThrow();
            if (e.code() == ErrorCode.UNAVAILABLE && System.nanoTime() - oldest < ReplicatedBlockVolume.RETRY_BUDGET_NANOS) {
                // No leader right now (failover): ask again shortly, as writes do. A client Ratis
                // closed would fail every read until the next write replaced it (a frontend only
                // read from for 25 s answered EIO): replace it here too.
                if (RatisErrors.closedForGood(t)) {
                    renew.apply(c);
                }
                return CompletableFuture.supplyAsync(() -> null,
                        CompletableFuture.delayedExecutor(RETRY_PAUSE_MS, TimeUnit.MILLISECONDS))
                        .thenCompose(x -> query(batch));
            }
            if (batch.size() > 1) {
                return CompletableFuture.allOf(batch.stream().map(p -> query(List.of(p))).toArray(CompletableFuture[]::new));
            }
            batch.get(0).done().completeExceptionally(e);
            return CompletableFuture.<Void>completedFuture(null);
        }).thenCompose(f -> f);
    }

    private static long[] ranges(List<PendingRead> batch) {
        long[] r = new long[2 * batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            r[2 * i] = batch.get(i).offset();
            r[2 * i + 1] = batch.get(i).dst().remaining();
        }
        return r;
    }

    /** The reply's bytes, read after read, into each read's buffer. */
    private void deliver(List<PendingRead> batch, ByteBuffer data) {
        long expected = batch.stream().mapToLong(p -> p.dst().remaining()).sum();
        if (data.remaining() != expected) {
            BallastException e = new BallastException(ErrorCode.INTERNAL, "read " + name + ": the leader sent "
                    + data.remaining() + " bytes for " + expected);
            batch.forEach(p -> p.done().completeExceptionally(e));
            return;
        }
        for (PendingRead p : batch) {
            int len = p.dst().remaining();
            p.dst().duplicate().put(data.slice(data.position(), len));
            data.position(data.position() + len);
            p.done().complete(null);
        }
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
