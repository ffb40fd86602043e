package io.ballast.replication.rebuild;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrubs every replica on this node once per interval, without being asked: bit rot in a block
 * nobody reads is found and repaired from a peer while the peers still hold good copies, not when
 * the last good copy is gone (Ceph's deep scrub, weekly by default, is the same idea).
 *
 * <p>One paced pass at a time per node, on a thread of its own: the most overdue replica first.
 * A replica is due one interval after its last full pass, or after the node first saw it; both
 * times are in the replica's {@link ScrubRecord}, so a restart neither resets the clock nor makes
 * every replica due at once. A pass stopped by a node stop goes on from where it was at the next
 * check after the start. Replicas being rebuilt wait. Threading: one timer thread checks; the pass
 * runs on one other.
 */
public final class ScrubSchedule implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ScrubSchedule.class);

    /**
     * @param interval       how often each replica is scrubbed ({@link Duration#ZERO}: never on its own)
     * @param bytesPerSecond the pace of a scheduled pass (0: unpaced)
     */
    public record Policy(Duration interval, long bytesPerSecond) {
        /** Weekly, as Ceph's deep scrub; 32 MiB/s reads a 1 TiB node's replicas in about 9 hours of the week. */
        public static final Policy DEFAULT = new Policy(Duration.ofDays(7), 32L << 20);

        public Policy {
            if (interval.isNegative() || bytesPerSecond < 0) {
                throw new IllegalArgumentException("the scrub interval and pace must be >= 0, got " + interval + " and "
                        + bytesPerSecond);
            }
        }

        public boolean enabled() {
            return !interval.isZero();
        }
    }

    private final Policy policy;
    private final Supplier<? extends Collection<ReplicaScrub>> replicas;
    private final LongSupplier clockMillis;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("ballast-scrub-schedule").factory());
    private final ExecutorService passes = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("ballast-scrub").factory());
    /** A pass that failed (no peer to repair from, the replica went away) is tried again this much later, not at the next check. */
    static final Duration RETRY_AFTER_FAILURE = Duration.ofHours(1);
    private final Map<String, Long> failedAt = new ConcurrentHashMap<>();
    private CompletableFuture<Void> current;

    public ScrubSchedule(Policy policy, Supplier<? extends Collection<ReplicaScrub>> replicas, LongSupplier clockMillis) {
        this.policy = policy;
        this.replicas = replicas;
        this.clockMillis = clockMillis;
    }

    /** Checks every {@code period} from now on; nothing when the policy is off. */
    public ScrubSchedule start(Duration period) {
        if (policy.enabled()) {
            timer.scheduleWithFixedDelay(this::checkQuietly, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("replicas are scrubbed every {}, one at a time, {}", readable(policy.interval()),
                    policy.bytesPerSecond() == 0 ? "at full speed"
                            : String.format("at %.1f MiB/s", policy.bytesPerSecond() / 1048576.0));
        } else {
            LOG.info("scheduled scrubs are off (scrub interval 0); 'ballast volume scrub' still scrubs a volume on demand");
        }
        return this;
    }

    /** "7 days", "12 hours", "90 s": the units a person set the interval in. */
    static String readable(Duration d) {
        long s = d.toSeconds();
        return s % 86_400 == 0 ? s / 86_400 + (s == 86_400 ? " day" : " days")
                : s % 3_600 == 0 ? s / 3_600 + (s == 3_600 ? " hour" : " hours")
                : s % 60 == 0 ? s / 60 + " min" : s + " s";
    }

    private void checkQuietly() {
        try {
            check();
        } catch (RuntimeException e) { // a replica going away under the check: the next one looks again
            LOG.debug("scrub schedule check: {}", e.toString());
        }
    }

    /**
     * Starts the most overdue replica's pass unless one is running; returns the volume it started,
     * if any (tests call this directly instead of waiting for the timer).
     */
    public synchronized Optional<String> check() {
        if (current != null && !current.isDone()) {
            return Optional.empty();
        }
        long now = clockMillis.getAsLong();
        Optional<ReplicaScrub> due = replicas.get().stream()
                .filter(ReplicaScrub::scrubbable)
                .filter(s -> failedAt.getOrDefault(s.volumeName(), Long.MIN_VALUE) + RETRY_AFTER_FAILURE.toMillis() <= now)
                .filter(s -> s.record().dueAtMillis(policy.interval()) <= now)
                .min(Comparator.comparingLong(s -> s.record().dueAtMillis(policy.interval())));
        if (due.isEmpty()) {
            return Optional.empty();
        }
        ReplicaScrub s = due.get();
        ScrubRecord r = s.record();
        LOG.info("volume {}: scheduled scrub ({})", s.volumeName(), r.lastCompletedMillis() > 0
                ? "last one finished " + Instant.ofEpochMilli(r.lastCompletedMillis())
                : "none since " + Instant.ofEpochMilli(r.trackedSinceMillis()));
        String volume = s.volumeName();
        current = s.startScheduled(policy.bytesPerSecond(), passes, clockMillis);
        current.whenComplete((v, t) -> {
            if (t != null) {
                failedAt.put(volume, clockMillis.getAsLong());
            } else {
                failedAt.remove(volume);
            }
        });
        return Optional.of(volume);
    }

    /** Interrupts a running pass (it notes where it stopped) and stops checking. */
    @Override
    public void close() {
        timer.shutdownNow();
        passes.shutdownNow();
        try {
            if (!passes.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("a scheduled scrub did not stop within 5 s of the node's stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
