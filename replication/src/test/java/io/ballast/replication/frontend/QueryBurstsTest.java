package io.ballast.replication.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class QueryBurstsTest {
    /** Items are their own size in bytes here. */
    private final QueryBursts<Integer> bursts = new QueryBursts<>(2, 3, 100, Integer::longValue);

    @Test
    void aLoneItemLeavesAtOnceAndABurstWaitsForAFreeSlotThenLeavesTogether() {
        assertEquals(List.of(List.of(10)), bursts.add(List.of(10)), "an idle queue sends at once");
        assertEquals(List.of(List.of(11)), bursts.add(List.of(11)), "the second slot");
        assertEquals(List.of(), bursts.add(List.of(12, 13)), "both slots out: wait");
        assertEquals(List.of(), bursts.add(List.of(14, 15)));
        assertEquals(List.of(List.of(12, 13, 14)), bursts.done(), "at most 3 items per batch, in order");
        assertEquals(List.of(List.of(15)), bursts.done());
        assertEquals(List.of(), bursts.done());
        assertEquals(List.of(), bursts.done());
        assertThrows(IllegalStateException.class, bursts::done, "more answers than batches");
    }

    @Test
    void aBatchStopsAtItsByteLimitButAnItemLargerThanTheLimitStillLeavesAlone() {
        bursts.add(List.of(1));
        bursts.add(List.of(1));
        bursts.add(List.of(60, 50, 150, 30));
        assertEquals(List.of(List.of(60)), bursts.done(), "60 + 50 is over 100");
        assertEquals(List.of(List.of(50)), bursts.done(), "50 + 150 is over 100");
        assertEquals(List.of(List.of(150)), bursts.done(), "alone, though over the limit");
        assertEquals(List.of(List.of(30)), bursts.done());
        assertEquals(0, bursts.waiting());
    }
}
