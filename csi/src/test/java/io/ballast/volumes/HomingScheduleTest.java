package io.ballast.volumes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** The timing rules of leader homing, on a clock the test moves (seconds as nanos for reading). */
class HomingScheduleTest {
    private static final long S = 1_000_000_000L;
    private static final long DELAY = 30 * S;
    private static final long PERIOD = 2 * S;
    private static final long MAX = 300 * S;

    private long now = 1000 * S;
    private final HomingSchedule schedule = new HomingSchedule(DELAY, PERIOD, MAX, now);

    /** One check at the current time: begin, and end at once. */
    private boolean check(boolean holdBack) {
        boolean go = schedule.begin(now, holdBack);
        schedule.end(now);
        return go;
    }

    /** Checks every period until {@code seconds} have passed. */
    private void passChecks(long seconds) {
        for (long end = now + seconds * S; now < end; ) {
            now += PERIOD;
            assertTrue(check(false), "a check on time is no pause");
        }
    }

    /** Volume v's clock has started again: not due now, due after the full 30 s delay. */
    private void assertAFreshDelay(String why) {
        assertFalse(schedule.due("v", now), why);
        passChecks(30);
        assertTrue(schedule.due("v", now), why + ": due after 30 s");
    }

    @Test
    void aLeadershipAwayIsDueOnlyAfterTheDelay() {
        assertTrue(check(false));
        assertFalse(schedule.due("v", now), "the clock starts when the leadership is first seen away");
        passChecks(28);
        assertFalse(schedule.due("v", now), "28 s away");
        passChecks(2);
        assertTrue(schedule.due("v", now), "30 s away");
        assertEquals(30 * S, schedule.awayNanos("v", now));
    }

    @Test
    void comingHomeByItselfStopsTheClock() {
        schedule.due("v", now);
        passChecks(20);
        schedule.atHome("v"); // an election brought it back, or none is on
        passChecks(20);
        assertAFreshDelay("away again: a fresh 30 s");
    }

    @Test
    void failedMovesWaitTwiceAsLongEachTimeUpToTheMaximum() {
        schedule.due("v", now);
        passChecks(30);
        long[] expected = {30, 60, 120, 240, 300, 300};
        for (long waitSeconds : expected) {
            assertTrue(schedule.due("v", now));
            assertEquals(waitSeconds * S, schedule.failed("v", now), "the wait after this failure");
            passChecks(waitSeconds - 2);
            assertFalse(schedule.due("v", now), waitSeconds - 2 + " s into a wait of " + waitSeconds + " s");
            passChecks(2);
        }
        assertTrue(schedule.due("v", now));
        assertEquals((30 + 30 + 60 + 120 + 240 + 300 + 300) * S, schedule.awayNanos("v", now),
                "the time away counts from the first sight, across the failed moves");
    }

    @Test
    void aSuccessfulMoveStartsAfresh() {
        schedule.due("v", now);
        passChecks(30);
        schedule.failed("v", now);
        passChecks(30);
        assertTrue(schedule.due("v", now));
        schedule.moved("v");
        passChecks(2);
        assertAFreshDelay("away again later: the full delay, and no backoff left over");
        assertEquals(30 * S, schedule.failed("v", now), "the first failure of a new absence waits the delay");
    }

    @Test
    void aPauseOfTheChecksForgetsEveryClock() {
        schedule.due("v", now);
        passChecks(28);
        now += 3 * PERIOD + 1; // late by more than three periods: the process was frozen
        assertFalse(check(false), "nothing moves in the check right after a pause");
        now += PERIOD;
        assertTrue(check(false));
        assertAFreshDelay("the clock starts again after a pause");
    }

    @Test
    void aSlowCheckIsNoPause() {
        schedule.due("v", now);
        assertTrue(schedule.begin(now + PERIOD, false));
        now += PERIOD + 5 * S; // a move blocked this check for 5 s
        schedule.end(now);
        now += PERIOD;
        assertTrue(check(false), "measured from the end of the last check");
        passChecks(22);
        assertTrue(schedule.due("v", now), "the clock kept running: 30 s away");
    }

    @Test
    void whileThisNodeMayNotLeadNothingMovesAndTheClocksStartAgainAfter() {
        schedule.due("v", now);
        passChecks(40);
        now += PERIOD;
        assertFalse(check(true), "full or drained: hold back");
        now += PERIOD;
        assertTrue(check(false));
        assertAFreshDelay("room again: a fresh delay, not an immediate pull");
    }

    @Test
    void volumesNoLongerAttachedHereAloneAreForgotten() {
        schedule.due("v", now);
        schedule.due("w", now);
        passChecks(30);
        schedule.retain(Set.of("w"));
        assertTrue(schedule.due("w", now));
        assertFalse(schedule.due("v", now), "attached here alone again: a fresh delay");
        assertEquals(0, schedule.awayNanos("gone", now));
    }
}
