package io.ballast.tests.history;

import static io.ballast.tests.history.HistoryOp.Kind.READ;
import static io.ballast.tests.history.HistoryOp.Kind.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker on small hand-made histories whose verdict is known (times in arbitrary units). */
class RegisterCheckerTest {
    private static HistoryOp w(long value, long invoke, long complete) {
        return new HistoryOp(WRITE, 0, 7, value, invoke, complete);
    }

    private static HistoryOp r(long value, long invoke, long complete) {
        return new HistoryOp(READ, 1, 7, value, invoke, complete);
    }

    private static List<RegisterChecker.Violation> check(HistoryOp... ops) {
        return RegisterChecker.check(List.of(ops));
    }

    private static void assertViolation(String reasonPart, HistoryOp... ops) {
        List<RegisterChecker.Violation> v = check(ops);
        assertTrue(!v.isEmpty() && v.get(0).reason().contains(reasonPart), "expected '" + reasonPart + "', got " + v);
    }

    @Test
    void sequentialWritesAndReadsPass() {
        assertEquals(List.of(), check(r(0, 0, 5), w(1, 10, 20), r(1, 30, 40), w(2, 50, 60), r(2, 70, 80), r(2, 90, 95)));
    }

    @Test
    void aReadConcurrentWithAWriteMayReturnEitherValue() {
        assertEquals(List.of(), check(w(1, 0, 10), w(2, 20, 30), r(1, 25, 35)));
        assertEquals(List.of(), check(w(1, 0, 10), w(2, 20, 30), r(2, 22, 28)));
        assertEquals(List.of(), check(w(1, 0, 100), w(2, 0, 100), r(1, 10, 20), r(2, 30, 40), r(2, 50, 60)));
    }

    @Test
    void aReadOfAnOverwrittenValueIsStale() {
        assertViolation("stale read", w(1, 0, 10), w(2, 20, 30), r(1, 40, 50));
    }

    @Test
    void anAcknowledgedWriteThatVanishesIsCaught() {
        assertViolation("stale read", w(1, 0, 10), r(1, 12, 14), r(0, 20, 30));
        assertViolation("stale read", w(1, 0, 10), r(0, 20, 30));
    }

    @Test
    void onceANewValueIsSeenTheOldOneMayNotReturn() {
        // The write is still running, but a read saw it: a later read may not see the old value.
        assertViolation("cannot both fit", w(1, 0, 100), r(1, 10, 20), r(0, 30, 40));
    }

    @Test
    void indeterminateWritesMayOrMayNotHaveHappened() {
        long never = HistoryOp.NEVER;
        assertEquals(List.of(), check(w(1, 0, never), r(0, 50, 60)));
        assertEquals(List.of(), check(w(1, 0, never), r(0, 50, 60), r(1, 70, 80), r(1, 90, 95)));
        assertViolation("cannot both fit", w(1, 0, never), r(1, 50, 60), r(0, 70, 80));
    }

    @Test
    void valuesNobodyWroteAreCaught() {
        assertViolation("no write produced", w(1, 0, 10), r(BlockValues.GARBAGE, 20, 30));
        assertViolation("no client wrote", w(1, 0, 10), r(5, 20, 30));
        assertViolation("before the write of it began", r(1, 0, 5), w(1, 10, 20));
    }

    @Test
    void blockContentsRoundTripAndDamageDecodesAsGarbage() {
        byte[] b = BlockValues.encode(7, 123456789L);
        assertEquals(123456789L, BlockValues.decode(7, b));
        assertEquals(BlockValues.GARBAGE, BlockValues.decode(8, b), "another block's data");
        assertEquals(BlockValues.INITIAL, BlockValues.decode(7, new byte[BlockValues.BLOCK]));
        byte[] torn = b.clone();
        System.arraycopy(new byte[512], 0, torn, 2048, 512);
        assertEquals(BlockValues.GARBAGE, BlockValues.decode(7, torn));
        byte[] mixed = BlockValues.encode(7, 99L);
        System.arraycopy(b, 0, mixed, 0, 512);
        assertEquals(BlockValues.GARBAGE, BlockValues.decode(7, mixed));
    }
}
