package io.ballast.daemon;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.RaftNode;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves the catalog group towards the members its {@link CatalogMemberSource} names, one change
 * at a time, run only by the node that leads the catalog:
 * <ul>
 *   <li>a named node that is not a member is added (it is brought up to date before it votes);</li>
 *   <li>a member no longer named is removed once every named node is a member and it has stayed
 *       unnamed for {@code removeAfter}: a node plugin restarting for an upgrade is briefly
 *       unnamed, and taking it out at once would only churn the group.</li>
 * </ul>
 * Adding before removing keeps the group at least as large as it was while it heals, so losing a
 * member and gaining its replacement never leaves fewer voters than before the loss.
 *
 * <p>Threading: one scheduler thread. Failures (a new node not answering yet, another change under
 * way) are logged once per kind and retried on the next round.
 */
public final class CatalogMembershipReconciler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogMembershipReconciler.class);

    private final RaftNode raft;
    private final CatalogMemberSource source;
    private final Duration removeAfter;
    private final Clock clock;
    private final Map<String, Long> unnamedSince = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("catalog-members").factory());
    private String lastProblem;
    private volatile java.util.Set<String> admissible = java.util.Set.of();

    public CatalogMembershipReconciler(RaftNode raft, CatalogMemberSource source, Duration removeAfter, Clock clock) {
        this.raft = raft;
        this.source = source;
        this.removeAfter = removeAfter;
        this.clock = clock;
    }

    public void start(Duration every) {
        timer.scheduleWithFixedDelay(this::round, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The nodes the source last said may be admitted (read every round on the catalog's leader). */
    public java.util.Set<String> admissible() {
        return admissible;
    }

    /** One look and at most one change; visible for tests. */
    void round() {
        try {
            if (!raft.catalog().leads()) {
                unnamedSince.clear();
                return;
            }
            admissible = java.util.Set.copyOf(source.admissible());
            Map<String, String> wanted = source.members();
            if (wanted.isEmpty()) {
                problem("the member source names no node (" + source.describe() + "); the catalog keeps its members");
                return;
            }
            Map<String, String> current = raft.catalog().members();
            long now = clock.millis();
            unnamedSince.keySet().retainAll(current.keySet());
            for (String id : current.keySet()) {
                if (wanted.containsKey(id)) {
                    unnamedSince.remove(id);
                } else {
                    unnamedSince.putIfAbsent(id, now);
                }
            }
            for (Map.Entry<String, String> w : wanted.entrySet()) {
                if (!current.containsKey(w.getKey())) {
                    LOG.info("catalog: adding {} at {} (named by {}; members now {})", w.getKey(), w.getValue(),
                            source.describe(), current.keySet());
                    raft.catalog().addMember(w.getKey(), w.getValue());
                    LOG.info("catalog: {} added", w.getKey());
                    lastProblem = null;
                    return;
                }
            }
            for (Map.Entry<String, Long> u : unnamedSince.entrySet()) {
                if (now - u.getValue() >= removeAfter.toMillis() && current.size() > 1) {
                    String id = u.getKey();
                    LOG.info("catalog: removing {}, not named for {} s (members {}, wanted {})", id,
                            (now - u.getValue()) / 1000, current.keySet(), wanted.keySet());
                    raft.catalog().removeMember(id);
                    LOG.info("catalog: {} removed", id);
                    unnamedSince.remove(id);
                    lastProblem = null;
                    return;
                }
            }
            lastProblem = null;
        } catch (BallastException e) {
            problem(e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("catalog membership: unexpected error (retrying)", e);
        }
    }

    private void problem(String what) {
        if (!what.equals(lastProblem)) {
            LOG.warn("catalog membership: {} (retrying)", what);
            lastProblem = what;
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            source.close();
        } catch (Exception e) {
            // the source only holds connections
        }
    }
}
