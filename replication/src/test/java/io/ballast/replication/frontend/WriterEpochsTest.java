package io.ballast.replication.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WriterEpochsTest {
    @Test
    void exclusiveEpochsAreEvenAndAboveTheCurrentOneAndTheTime() {
        assertEquals(1_000, WriterEpochs.nextExclusive(0, 1_000));
        assertEquals(1_002, WriterEpochs.nextExclusive(0, 1_001));
        assertEquals(5_002, WriterEpochs.nextExclusive(5_001, 1_000), "above a shared epoch: fences its writers");
        assertEquals(5_002, WriterEpochs.nextExclusive(5_000, 1_000));
        assertFalse(WriterEpochs.shared(WriterEpochs.nextExclusive(7, 3)));
    }

    @Test
    void theFirstSharedEpochIsTheNextOddOneAndLaterAttachesJoinIt() {
        assertEquals(1, WriterEpochs.firstShared(0), "never attached");
        assertEquals(5_001, WriterEpochs.firstShared(5_000), "above an exclusive epoch: fences its writer");
        assertTrue(WriterEpochs.shared(5_001));
        assertThrows(IllegalArgumentException.class, () -> WriterEpochs.firstShared(5_001));
    }
}
