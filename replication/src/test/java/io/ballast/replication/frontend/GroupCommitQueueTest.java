package io.ballast.replication.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ballast.replication.config.ReplicationConfig;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.entry.VolumeLogLayout.Op;
import io.ballast.replication.frontend.GroupCommitQueue.Pending;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The group-commit rule: when an entry may leave, and which queued requests it carries. */
class GroupCommitQueueTest {
    private static final ReplicationConfig CONFIG = new ReplicationConfig.Builder("n1", "127.0.0.1", 1).build();
    private final GroupCommitQueue queue = new GroupCommitQueue(CONFIG);
    private long offset;

    private void queueWrites(int count, int bytes) {
        for (int i = 0; i < count; i++) {
            Op op = new Op(VolumeLogLayout.OP_WRITE, (byte) 0, offset, bytes, ByteBuffer.allocate(bytes));
            offset += bytes;
            queue.add(new Pending(op, new CompletableFuture<>(), false, 0));
        }
    }

    @Test
    void theFirstEntryLeavesAtOnceWithWhatIsQueued() {
        queueWrites(1, 4096);
        List<Pending> first = queue.nextBatch();
        assertNotNull(first);
        assertEquals(1, first.size());
    }

    @Test
    void aFurtherSmallWriteEntryWaitsForHalfOfFiosQueueDepth() {
        queueWrites(1, 4096);
        assertNotNull(queue.nextBatch());
        queueWrites(GroupCommitQueue.FURTHER_ENTRY_OPS - 1, 4096);
        assertNull(queue.nextBatch(), "15 small writes queued behind an entry in flight: wait for more, or for it");
        queueWrites(1, 4096);
        List<Pending> second = queue.nextBatch();
        assertNotNull(second, "16 queued: a second entry leaves beside the first");
        assertEquals(GroupCommitQueue.FURTHER_ENTRY_OPS, second.size());
        queueWrites(3, 4096);
        queue.entryDone();
        assertNull(queue.nextBatch(), "one still in flight, three queued: they wait");
        queue.entryDone();
        assertEquals(3, queue.nextBatch().size(), "none in flight: whatever is queued leaves");
    }

    @Test
    void largeWritesKeepSeveralEntriesInFlightUpToTheLimit() {
        int quarter = CONFIG.batchMaxBytes() / 4;
        for (int i = 0; i < CONFIG.maxInFlight(); i++) {
            queueWrites(1, quarter);
            assertNotNull(queue.nextBatch(), "entry " + (i + 1) + " of a stream of large writes");
        }
        queueWrites(GroupCommitQueue.FURTHER_ENTRY_OPS, quarter);
        assertNull(queue.nextBatch(), "maxInFlight entries in flight: nothing more leaves");
        queue.entryDone();
        assertNotNull(queue.nextBatch());
    }

    @Test
    void anEntryCarriesNoMoreThanBatchMaxOpsRequests() {
        queueWrites(1, 512);
        assertNotNull(queue.nextBatch());
        queueWrites(CONFIG.batchMaxOps() + 5, 512);
        assertEquals(CONFIG.batchMaxOps(), queue.nextBatch().size());
        assertNull(queue.nextBatch(), "the five left over wait: fewer than FURTHER_ENTRY_OPS, two entries in flight");
    }
}
