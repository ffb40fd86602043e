package io.ballast.replication.frontend;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.ratis.RatisErrors;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves, before a frontend answers a read from its local replica, that it is still the volume's
 * writer: no newer attachment can have had a write acknowledged that this read would miss.
 *
 * <p><b>Why.</b> Writes are fenced by the log (an OPS entry carries its writer epoch and is refused
 * once a newer ATTACH is in). A read is served locally and never touches the log, so a frontend
 * paused past an attach elsewhere (GC, SIGSTOP, a frozen VM) used to answer its first reads from
 * the pre-attach data (issue 19, invariants 3 and 5).
 *
 * <p><b>How.</b> A <em>round</em> is one Raft read-index confirmation through this node's server
 * ({@link #check}: Ratis's linearizable read): the leader's commit index at a moment after the
 * round began, confirmed as still the leader's (by its lease, or a heartbeat round to a majority),
 * then this replica's apply up to that index, then the volume's writer epoch there. Every write
 * acknowledged to anyone before the round began is then applied locally; if a newer attachment
 * exists, its ATTACH is too, and the epoch says so. A read waits for a round that <em>began after
 * the read arrived</em>: one round is in flight at a time and all reads that arrive meanwhile share
 * the next one, so QD32 pays about one confirmation per round trip, not one per read. Rounds start
 * on a pool thread ({@link #startOpenRound}).
 *
 * <p><b>Outcomes.</b> Our epoch: the read proceeds. A newer epoch: fenced for good; this read and
 * every later request fail FAILED_PRECONDITION (EIO at the kernel), never data. No leader or no
 * quorum: the round is retried for up to the writes' retry budget, then reads fail UNAVAILABLE
 * (a stall beats EIO during a failover; stale data is never the fallback).
 *
 * <p><b>Test switch.</b> {@code -Dballast.unsafe.readFence=off} skips the rounds (the behaviour
 * before this class), so tests can show the stale read that the fence prevents. Never in production.
 *
 * <p>Threading: thread-safe; callbacks run on Ratis threads or the retry timer.
 */
public final class ReadFence {
    private static final Logger LOG = LoggerFactory.getLogger(ReadFence.class);
    static final boolean ENABLED = !"off".equals(System.getProperty("ballast.unsafe.readFence"));
    private static final long RETRY_PAUSE_MS = 50;

    private final String name;
    private final long epoch;
    /** One confirmation: completes with the volume's epoch at a read index taken after the call. */
    private final Supplier<CompletableFuture<ByteBuffer>> check;
    /** The epoch this node's replica has applied (a newer one means fenced, without a round). */
    private final LongSupplier localEpoch;
    private final long budgetNanos;
    private final AtomicLong rounds = new AtomicLong();

    /** Where rounds start: off the reader's thread, so that reads arriving meanwhile join the round. */
    private final Executor starter;
    /**
     * Guarded by this. {@code open}: the round reads join, not started yet (its check runs after
     * every joiner arrived); {@code inFlight}: the round whose check runs. At most one of each.
     */
    private CompletableFuture<Void> open;
    private boolean inFlight;
    private volatile long supersededBy;

    ReadFence(String name, long epoch, Supplier<CompletableFuture<ByteBuffer>> check, LongSupplier localEpoch,
            long budgetNanos, Executor starter) {
        this.name = name;
        this.starter = starter;
        this.epoch = epoch;
        this.check = check;
        this.localEpoch = localEpoch;
        this.budgetNanos = budgetNanos;
        if (!ENABLED) {
            LOG.warn("{}: read fence OFF (-Dballast.unsafe.readFence=off): reads may return data older than an "
                    + "attachment elsewhere; for tests only", name);
        }
    }

    /** True once a newer writer epoch is known here: every request of the handle must fail. */
    boolean fenced() {
        if (supersededBy == 0) {
            long local = localEpoch.getAsLong();
            if (local > epoch) {
                supersededBy = local;
            }
        }
        return supersededBy != 0;
    }

    /** Records a newer epoch learnt elsewhere (a write answered FENCED). */
    void supersede(long newer) {
        if (newer > epoch && supersededBy == 0) {
            supersededBy = newer;
        }
    }

    BallastException fencedError() {
        return new BallastException(ErrorCode.FAILED_PRECONDITION, name + ": fenced, writer epoch " + epoch
                + " was superseded" + (supersededBy > epoch ? " by " + supersededBy : "")
                + " (attached elsewhere); detach here or attach again");
    }

    /** Confirmation rounds run so far (metrics, tests). */
    long rounds() {
        return rounds.get();
    }

    /** Completes when a round that began after this call has confirmed the epoch; fails when fenced. */
    CompletableFuture<Void> confirm() {
        if (fenced()) {
            return CompletableFuture.failedFuture(fencedError());
        }
        if (!ENABLED) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> waitFor;
        boolean schedule = false;
        synchronized (this) {
            if (open == null) {
                open = new CompletableFuture<>();
                schedule = !inFlight; // else it starts when the round in flight finishes
            }
            waitFor = open;
        }
        if (schedule) {
            startOpenRound();
        }
        return waitFor;
    }

    /**
     * Starts the open round on the starter: every read that joined it arrived before its check
     * begins. Started off the reader's thread because on the leader a check completes inline (lease,
     * no I/O): started inline, each read of a burst would pay its own round (measured: one round
     * per read, QD32 randread at 0.16x of unfenced).
     */
    private void startOpenRound() {
        try {
            starter.execute(() -> {
                CompletableFuture<Void> round;
                synchronized (this) {
                    round = open;
                    open = null;
                    inFlight = round != null;
                }
                if (round != null) {
                    run(round, System.nanoTime());
                }
            });
        } catch (RejectedExecutionException e) {
            CompletableFuture<Void> round;
            synchronized (this) {
                round = open;
                open = null;
            }
            if (round != null) {
                round.completeExceptionally(new BallastException(ErrorCode.UNAVAILABLE, name + ": node stopping"));
            }
        }
    }

    private void run(CompletableFuture<Void> round, long since) {
        if (fenced()) {
            finish(round, fencedError()); // a queued round after the fence fell: nothing to confirm
            return;
        }
        rounds.incrementAndGet();
        CompletableFuture<ByteBuffer> answer;
        try {
            answer = check.get();
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        answer.whenComplete((reply, t) -> {
            if (t != null) {
                BallastException e = RatisErrors.map(t, "confirm the read fence of " + name);
                if (e.code() == ErrorCode.UNAVAILABLE && System.nanoTime() - since < budgetNanos && !fenced()) {
                    // No leader known, a deposed leader stepping down, a timeout: ask again shortly.
                    CompletableFuture.delayedExecutor(RETRY_PAUSE_MS, TimeUnit.MILLISECONDS)
                            .execute(() -> run(round, since));
                    return;
                }
                finish(round, fenced() ? fencedError()
                        : new BallastException(ErrorCode.UNAVAILABLE, name + ": reads stopped: cannot confirm this "
                                + "node is still the volume's writer (" + e.getMessage() + ")", e));
                return;
            }
            long current = reply.getLong(0);
            if (current < epoch) {
                // Cannot happen once attach() returned (its ATTACH is below any later read index).
                finish(round, new BallastException(ErrorCode.UNAVAILABLE, name + ": writer epoch " + epoch
                        + " is not applied at the read index (the volume's epoch there is " + current + ")"));
            } else if (current > epoch) {
                supersede(current);
                LOG.info("{}: fenced, writer epoch {} was superseded by {}: reads and writes fail from now on",
                        name, epoch, current);
                finish(round, fencedError());
            } else {
                finish(round, null);
            }
        });
    }

    /** Completes a round, then starts the one that reads arrived for meanwhile, if any. */
    private void finish(CompletableFuture<Void> round, BallastException failure) {
        boolean next;
        synchronized (this) {
            inFlight = false;
            next = open != null;
        }
        if (failure == null) {
            round.complete(null);
        } else {
            round.completeExceptionally(failure);
        }
        if (next) {
            startOpenRound();
        }
    }
}
