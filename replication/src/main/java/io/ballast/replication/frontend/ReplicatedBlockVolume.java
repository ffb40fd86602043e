package io.ballast.replication.frontend;

import static io.ballast.replication.entry.VolumeLogLayout.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.volume.BlockVolume;
import io.ballast.replication.config.ReplicationConfig;
import io.ballast.replication.entry.BlockOps;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.frontend.GroupCommitQueue.Pending;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.statemachine.VolumeStateMachine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A volume replicated through its Raft group, as a frontend sees it. Opened by
 * {@link io.ballast.replication.RaftNode#openVolume RaftNode.openVolume} on a node holding a replica; the single writer of the volume.
 *
 * <p><b>Writes (group commit).</b> WRITE, TRIM, WRITE_ZEROES and RESIZE requests are queued and
 * cut into log entries by {@link GroupCommitQueue}, so under load many requests share one entry
 * and one fsync round. A request completes when the
 * leader's reply for its entry arrives. Ratis replies only after the entry is committed (appended
 * and fsynced on a majority) and applied on the leader, so an acknowledged write is on a
 * majority's disk. Writes larger than {@code batchMaxBytes} are split (and may be partially
 * applied on failure, like a disk). Entries go straight to this node's Raft server while it leads
 * the group ({@link LocalSubmitter}), else through the async Ratis client.
 *
 * <p><b>FLUSH / FUA.</b> Since acknowledgement already means durable on a majority, {@link #flush()}
 * has nothing to wait for (every previously acknowledged write is committed) and completes at once,
 * and FUA needs nothing extra. This relies on Ratis fsyncing its log before counting a follower's
 * (and the leader's) ack ({@code raft.server.log.unsafe-flush.enabled=false}, which {@link io.ballast.replication.RaftNode RaftNode}
 * sets). Flushes therefore cover every connection ({@link #flushCoversAllConnections()}).
 *
 * <p><b>Reads</b> come from this node's replica once the {@link ReadFence} has confirmed, in a round
 * that began after the read arrived, that this handle is still the volume's writer: a read index
 * from the leader, applied here, at which the writer epoch is still this handle's. So a read sees
 * every write acknowledged to anyone before it began, and a frontend fenced by an attach elsewhere
 * never answers with older data, however long it was paused. The replica also waits for the index of
 * this handle's last acknowledged write (read-your-writes). If no round succeeds within the retry
 * budget (25 s, as for writes), the read fails UNAVAILABLE.
 * A block failing its checksum here is repaired from a peer before the read completes
 * ({@link io.ballast.replication.rebuild.BlockRepairer BlockRepairer}); with no healthy copy anywhere the read fails CORRUPTION.
 *
 * <p><b>Fencing.</b> Opening appends ATTACH(epoch) and returns only once this replica has applied it
 * with this epoch still the volume's. A later handle with a higher epoch fences this one: its
 * writes fail FAILED_PRECONDITION (refused on the leader, or ignored on apply when they raced the
 * ATTACH), and so do its reads (the read fence). Once fenced, a handle stays fenced ({@link #fenced()}):
 * every request fails at once, and its node's status and the next attach there see it.
 *
 * <p><b>Errors.</b> UNAVAILABLE when no quorum answers in time (after the client's retries),
 * FAILED_PRECONDITION when fenced or closed, OUT_OF_RANGE / INVALID_ARGUMENT for bad ranges.
 * Threading: thread-safe; futures complete on Ratis client threads or the node's read pool.
 *
 * <p>Size: over 450 lines because queueing, sending, retrying and acknowledging a write share one
 * monitor and one ordering rule (the last acknowledged index before the reply), which a split would
 * spread over classes; batching lives in {@link GroupCommitQueue}, the read side in {@link ReadFence},
 * counters in {@link FrontendStats}.
 */
public final class ReplicatedBlockVolume implements BlockVolume {
    private final String name;
    private final Supplier<RaftClient> clients;
    /** Replaced when Ratis closes it for good (AlreadyClosedException after a leader change). */
    private volatile RaftClient client;
    /** Entries go straight to this node's server while it leads the group (the usual case); see {@link #rebind}. */
    private volatile LocalSubmitter leaderHere;
    /** Where reads come from: this node's replica, or the leader's for a diskless frontend. */
    private final ReplicaAccess replica;
    private final long epoch;
    private final ReplicationConfig config;
    private final AtomicLong lastAcked = new AtomicLong(-1);
    private final AtomicLong entriesSent = new AtomicLong();
    private final AtomicLong requestsSent = new AtomicLong();
    private final AtomicLong entriesSentLocally = new AtomicLong();
    private final FrontendStats stats = new FrontendStats();
    private volatile long knownSize;

    /** Guarded by this. */
    private final GroupCommitQueue queue;
    private volatile Runnable onClose = () -> { };
    private boolean closed;

    private static final Logger LOG = LoggerFactory.getLogger(ReplicatedBlockVolume.class);
    /**
     * Test switch: {@code -Dballast.unsafe.ackBeforeCommit=on} acknowledges each write as its entry
     * leaves for the log, before Raft commits it. That breaks durability and read-your-writes on
     * purpose, so HistoryIT can show its checker catches it. Never in production.
     */
    static final boolean ACK_BEFORE_COMMIT = "on".equals(System.getProperty("ballast.unsafe.ackBeforeCommit"));
    /**
     * How long a write keeps being retried while the group has no leader or quorum (leader
     * killed, leadership moving): a disk that stalls briefly beats one that returns EIO, which
     * makes filesystems go read-only. Kept below the kernel NBD client's default 30 s timeout.
     */
    public static final long RETRY_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(25);
    private static final long RETRY_PAUSE_MS = 100;

    /** A handle on a node holding a replica: reads from it, entries straight to its server when it leads. */
    public ReplicatedBlockVolume(String name, Supplier<RaftClient> clients, LocalSubmitter leaderHere,
            VolumeStateMachine local, long epoch, ReplicationConfig config, Executor readExecutor) {
        this(name, clients, leaderHere, epoch, config,
                h -> new LocalReplicaAccess(name, epoch, local, leaderHere, readExecutor));
    }

    /** A diskless handle: no replica here, every request through the Ratis client to the group. */
    public ReplicatedBlockVolume(String name, Supplier<RaftClient> clients, long epoch, ReplicationConfig config) {
        this(name, clients, null, epoch, config, h -> new LeaderReplicaAccess(name, epoch, () -> h.client, h::renewClient));
    }

    private ReplicatedBlockVolume(String name, Supplier<RaftClient> clients, LocalSubmitter leaderHere, long epoch,
            ReplicationConfig config, java.util.function.Function<ReplicatedBlockVolume, ReplicaAccess> replica) {
        this.name = name;
        this.clients = clients;
        this.client = clients.get();
        this.leaderHere = leaderHere;
        this.epoch = epoch;
        this.config = config;
        this.queue = new GroupCommitQueue(config);
        this.replica = replica.apply(this);
        if (ACK_BEFORE_COMMIT) {
            LOG.warn("{}: writes acknowledged before they commit (-Dballast.unsafe.ackBeforeCommit=on): "
                    + "acknowledged writes can be lost; for tests only", name);
        }
    }

    /** Runs once when the handle closes (RaftNode counts the handles open on its replicas). */
    public void onClose(Runnable r) {
        onClose = r;
    }

    /**
     * The node reopened this replica's Raft division (its log had failed, or a rebuild handed over):
     * the closed one's server and state machine answer nothing, so entries and reads go to the new
     * ones from now on. Requests in flight through the old ones fail and are retried as for a
     * leader change. No-op for a diskless handle.
     */
    public void rebind(LocalSubmitter server, VolumeStateMachine local) {
        if (replica instanceof LocalReplicaAccess here) {
            leaderHere = server;
            here.rebind(local, server);
        }
    }

    /** True when this handle reads through the group's leader (no replica on this node). */
    public boolean diskless() {
        return replica instanceof LeaderReplicaAccess;
    }

    public void attach() {
        try {
            RaftClientReply r = client.io().send(message(VolumeLogLayout.attach(epoch)));
            BallastException e = RatisErrors.of(r, "attach " + name + " with epoch " + epoch);
            if (e != null) {
                throw e;
            }
            if (decodeReply(r.getMessage().getContent().asReadOnlyByteBuffer())[0] != ST_OK) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "attach " + name + ": epoch " + epoch + " superseded");
            }
            lastAcked.accumulateAndGet(r.getLogIndex(), Math::max);
        } catch (IOException e) {
            throw RatisErrors.map(e, "attach " + name);
        }
        replica.attached(lastAcked.get());
    }

    /**
     * Starts using the volume's current (shared) writer epoch, which this handle was opened with,
     * without an ATTACH entry: a further writer of a multi-writer volume ({@link WriterEpochs}).
     * {@code index}: a log index at which that epoch was read as the volume's; FAILED_PRECONDITION
     * when the epoch has changed by then.
     */
    public void join(long index) {
        lastAcked.accumulateAndGet(index, Math::max);
        replica.attached(index);
    }

    /**
     * True once a newer attachment superseded this handle: every request fails FAILED_PRECONDITION,
     * and the node replaces the handle on its next attach.
     */
    public boolean fenced() {
        return replica.fenced();
    }

    /** Reads asked of this handle (the fence's rounds are shared among them). */
    public long reads() {
        return stats.reads();
    }

    /** Read-fence rounds run so far (each confirms the writer epoch for the reads that waited for it). */
    public long fenceRounds() {
        return replica.rounds();
    }

    public long writerEpoch() {
        return epoch;
    }

    /** Log entries and requests sent so far (group-commit ratio = requests / entries). */
    public long entriesSent() {
        return entriesSent.get();
    }

    public long requestsSent() {
        return requestsSent.get();
    }

    /** Entries handed straight to this node's Raft server as leader (the rest went through the client). */
    public long entriesSentLocally() {
        return entriesSentLocally.get();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return Math.max(knownSize, replica.size());
    }

    @Override
    public int blockSize() {
        return LocalBlockStore.BLOCK_SIZE;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        try {
            checkOpen();
            BlockOps.checkRange(new Op(OP_READ, (byte) 0, offset, dst.remaining(), null), size());
        } catch (BallastException e) {
            return CompletableFuture.failedFuture(e);
        }
        long start = System.nanoTime();
        int length = dst.remaining();
        // Same budget as writes: a replica rejoining after a partition lags the new leader for a few
        // seconds, and a read that stalls beats EIO on data the client just wrote (PartitionIT).
        return replica.read(offset, dst, lastAcked.get())
                .exceptionallyCompose(t -> CompletableFuture.<Void>failedFuture(
                        BallastException.of(t).code() == ErrorCode.INTERNAL
                                ? RatisErrors.map(t, "read " + name) : BallastException.of(t)))
                .whenComplete((v, t) -> stats.read(length, start, t == null));
    }

    /** Reads and writes as this handle's clients saw them (metrics). */
    public FrontendStats stats() {
        return stats;
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        // No copy: the caller keeps src until completion (BlockVolume contract), and encoding the
        // log entry copies the bytes once, from a duplicate.
        ByteBuffer data = src.duplicate();
        long start = System.nanoTime();
        int length = data.remaining();
        return submit(new Op(OP_WRITE, (byte) 0, offset, length, data))
                .whenComplete((v, t) -> stats.write(length, start, t == null));
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return submit(new Op(OP_TRIM, (byte) 0, offset, length, null));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayPunchHole, boolean fua) {
        return submit(new Op(OP_ZEROES, mayPunchHole ? FLAG_PUNCH : 0, offset, length, null));
    }

    /** Completes at once: every acknowledged write is already fsynced on a majority (see class doc). */
    @Override
    public CompletableFuture<Void> flush() {
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(closedError());
            }
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> resize(long newSize) {
        return submit(new Op(OP_RESIZE, (byte) 0, newSize, 0, null)).thenRun(
                () -> knownSize = Math.max(knownSize, newSize));
    }

    @Override
    public boolean flushCoversAllConnections() {
        return true;
    }

    private CompletableFuture<Void> submit(Op op) {
        try {
            checkOpen();
            if (replica.fenced()) {
                throw replica.fencedError();
            }
            BlockOps.checkRange(op, size());
        } catch (BallastException e) {
            return CompletableFuture.failedFuture(e);
        }
        List<Op> parts = split(op);
        List<CompletableFuture<Void>> futures = new ArrayList<>(parts.size());
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(closedError());
            }
            for (Op p : parts) {
                CompletableFuture<Void> f = new CompletableFuture<>();
                queue.add(new Pending(p, f, false, System.nanoTime()));
                futures.add(f);
            }
        }
        pump();
        return futures.size() == 1 ? futures.get(0) : CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new));
    }

    private List<Op> split(Op op) {
        int max = config.batchMaxBytes() - RECORD_HEADER - HEADER - TRAILER;
        if (op.type() != OP_WRITE || op.length() <= max) {
            return List.of(op);
        }
        List<Op> parts = new ArrayList<>();
        for (int pos = 0; pos < op.length(); pos += max) {
            int len = (int) Math.min(max, op.length() - pos);
            parts.add(new Op(OP_WRITE, (byte) 0, op.offset() + pos, len, op.data().slice(pos, len)));
        }
        return parts;
    }

    /** Sends as many entries as the group-commit rule allows ({@link GroupCommitQueue}). */
    private void pump() {
        List<List<Pending>> batches = new ArrayList<>();
        synchronized (this) {
            for (List<Pending> b; (b = queue.nextBatch()) != null; ) {
                batches.add(b);
            }
        }
        for (List<Pending> batch : batches) {
            send(batch);
        }
    }

    private void send(List<Pending> batch) {
        List<Op> ops = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            ops.add(p.op());
        }
        entriesSent.incrementAndGet();
        requestsSent.addAndGet(batch.size());
        Message entry = message(VolumeLogLayout.ops(epoch, ops));
        LocalSubmitter local = leaderHere;
        CompletableFuture<RaftClientReply> sent = local == null ? null : local.submit(entry);
        if (sent == null) {
            sent = client.async().send(entry);
        } else {
            entriesSentLocally.incrementAndGet();
        }
        if (ACK_BEFORE_COMMIT) {
            batch.forEach(p -> p.done().complete(null)); // the unsafe test switch: see its field
        }
        sent.whenComplete((reply, t) -> {
            synchronized (this) {
                queue.entryDone();
            }
            try {
                complete(batch, reply, t);
            } finally {
                pump();
            }
        });
    }

    private void complete(List<Pending> batch, RaftClientReply reply, Throwable t) {
        BallastException failure = fencedRefusal(t != null ? RatisErrors.map(t, "write to " + name)
                : RatisErrors.of(reply, "write to " + name));
        if (failure != null) {
            if (batch.size() > 1 && (failure.code() == ErrorCode.OUT_OF_RANGE || failure.code() == ErrorCode.INVALID_ARGUMENT
                    || failure.code() == ErrorCode.NO_SPACE)) {
                // One bad request refused the whole entry: resend each alone so only it fails
                // (on a full disk: the writes; trims and flushes in the same entry pass).
                synchronized (this) {
                    queue.requeueFront(batch, true);
                }
                return;
            }
            if (failure.code() == ErrorCode.UNAVAILABLE && retry(batch, t)) {
                return;
            }
            batch.forEach(p -> p.done().completeExceptionally(failure));
            return;
        }
        lastAcked.accumulateAndGet(reply.getLogIndex(), Math::max); // before completing: read-your-writes
        byte[] st = decodeReply(reply.getMessage().getContent().asReadOnlyByteBuffer());
        for (int i = 0; i < batch.size(); i++) {
            byte s = i < st.length ? st[i] : ST_INVALID;
            CompletableFuture<Void> f = batch.get(i).done();
            switch (s) {
                case ST_OK -> f.complete(null);
                case ST_FENCED -> {
                    replica.superseded();
                    f.completeExceptionally(replica.fencedError());
                }
                case ST_OUT_OF_RANGE -> f.completeExceptionally(new BallastException(ErrorCode.OUT_OF_RANGE, name + ": out of range"));
                case ST_PRECONDITION -> f.completeExceptionally(new BallastException(ErrorCode.FAILED_PRECONDITION, name + ": refused"));
                default -> f.completeExceptionally(new BallastException(ErrorCode.INVALID_ARGUMENT, name + ": malformed request"));
            }
        }
    }

    /** A refusal by the leader's epoch check ("fenced: ...") marks this handle fenced; others pass through. */
    private BallastException fencedRefusal(BallastException failure) {
        if (failure != null && failure.code() == ErrorCode.FAILED_PRECONDITION && failure.getMessage().contains("fenced:")) {
            replica.superseded();
            return replica.fencedError();
        }
        return failure;
    }

    /**
     * Requeues a batch that failed for want of a leader or quorum, in front of newer requests,
     * and pumps again after a pause. Safe because a write not yet acknowledged may land at any
     * time relative to requests in flight with it (as on a disk), and a stale writer is still
     * fenced by its epoch. False when the handle is closed or the budget is spent.
     */
    private boolean retry(List<Pending> batch, Throwable cause) {
        long now = System.nanoTime();
        RaftClient broken = null;
        synchronized (this) {
            if (closed || batch.stream().anyMatch(p -> now - p.since() > RETRY_BUDGET_NANOS)) {
                return false;
            }
            if (RatisErrors.closedForGood(cause)) {
                broken = client;
            }
            queue.requeueFront(batch, false);
            queue.holdSlot(); // during the pause, so the queue does not spin
        }
        if (broken != null) {
            renewClient(broken);
        }
        CompletableFuture.delayedExecutor(RETRY_PAUSE_MS, TimeUnit.MILLISECONDS).execute(() -> {
            synchronized (this) {
                queue.entryDone();
            }
            pump();
        });
        return true;
    }

    /**
     * Replaces {@code broken}, the client Ratis closed for good (its ordered window fails every
     * later request at once; seen after a leadership transfer under load, for writes and a diskless
     * frontend's reads alike), unless it was replaced already. Returns the client to use now.
     */
    private RaftClient renewClient(RaftClient broken) {
        RaftClient current;
        synchronized (this) {
            if (client != broken || closed) {
                return client;
            }
            client = clients.get();
            current = client;
        }
        CompletableFuture.runAsync(() -> closeQuietly(broken));
        return current;
    }

    private static void closeQuietly(RaftClient c) {
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            // the client was already broken; nothing to recover
        }
    }

    private static Message message(ByteBuffer b) {
        return Message.valueOf(UnsafeByteOperations.unsafeWrap(b));
    }

    private synchronized void checkOpen() {
        if (closed) {
            throw closedError();
        }
    }

    private BallastException closedError() {
        return new BallastException(ErrorCode.FAILED_PRECONDITION, "volume handle " + name + " is closed");
    }

    /** Fails queued requests and closes the client; entries already sent may still commit. */
    @Override
    public void close() {
        List<Pending> dropped;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            dropped = queue.drain();
        }
        onClose.run();
        dropped.forEach(p -> p.done().completeExceptionally(closedError()));
        try {
            client.close();
        } catch (IOException e) {
            // nothing to do: the handle is gone either way
        }
    }

    @Override
    public String toString() {
        return "ReplicatedBlockVolume[" + name + ", epoch " + epoch + "]";
    }
}
