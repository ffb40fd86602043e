package io.ballast.volumes;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * When {@link LeaderHoming} may move each volume's leadership back: not before it has been away for
 * the delay, after a failed move only once a wait twice as long as the last has passed (up to a
 * maximum), and with everything forgotten after a pause of the checks or while this node may not
 * lead. Time is the caller's {@code System.nanoTime()}, so the rules are tested without waiting.
 *
 * <p>Not thread-safe: the homing thread alone uses it.
 */
final class HomingSchedule {
    private final long delayNanos;
    private final long periodNanos;
    private final long maxBackoffNanos;
    /** Volumes whose leader is elsewhere: since when, and when to try next. */
    private final Map<String, Away> away = new HashMap<>();
    private long lastCheckEndNanos;

    private record Away(long sinceNanos, long nextTryNanos, long backoffNanos) {}

    /**
     * @param delayNanos how long a leadership stays away before the first move; also the first
     *     wait after a failed move
     * @param periodNanos how often the checks run
     * @param nowNanos the time the checks start from
     */
    HomingSchedule(long delayNanos, long periodNanos, long maxBackoffNanos, long nowNanos) {
        this.delayNanos = delayNanos;
        this.periodNanos = periodNanos;
        this.maxBackoffNanos = maxBackoffNanos;
        this.lastCheckEndNanos = nowNanos;
    }

    /**
     * A check starts. False when it must not move anything: it comes late by more than three
     * periods after the last one ended (the process or machine was paused, and what this node
     * knows is stale: its handle may have been fenced meanwhile without its replica having heard
     * yet), or this node may not lead now ({@code holdBack}: full or drained). Either way every
     * volume's clock starts again.
     */
    boolean begin(long nowNanos, boolean holdBack) {
        // Measured from the end of the last check: a move may take seconds, and that is no pause.
        boolean paused = nowNanos - lastCheckEndNanos > 3 * periodNanos;
        if (paused || holdBack) {
            away.clear();
            return false;
        }
        return true;
    }

    /** The check has ended. */
    void end(long nowNanos) {
        lastCheckEndNanos = nowNanos;
    }

    /** Forgets the volumes no longer attached here alone. */
    void retain(Set<String> names) {
        away.keySet().retainAll(names);
    }

    /** The leadership is here, or there is none to move (an election is on): the clock stops. */
    void atHome(String name) {
        away.remove(name);
    }

    /** The leadership is elsewhere: true when it is time to move it back (the clock starts at the first call). */
    boolean due(String name, long nowNanos) {
        Away a = away.computeIfAbsent(name, n -> new Away(nowNanos, nowNanos + delayNanos, delayNanos));
        return nowNanos - a.nextTryNanos >= 0;
    }

    /** How long the leadership has been away, for the log. */
    long awayNanos(String name, long nowNanos) {
        Away a = away.get(name);
        return a == null ? 0 : nowNanos - a.sinceNanos;
    }

    /** The move worked. */
    void moved(String name) {
        away.remove(name);
    }

    /** The move failed at {@code nowNanos}: returns how long until the next try, twice the last wait up to the maximum. */
    long failed(String name, long nowNanos) {
        Away a = away.get(name);
        long wait = a == null ? delayNanos : a.backoffNanos;
        long since = a == null ? nowNanos : a.sinceNanos;
        away.put(name, new Away(since, nowNanos + wait, Math.min(2 * wait, maxBackoffNanos)));
        return wait;
    }
}
