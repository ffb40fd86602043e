package io.ballast.replication.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Path;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The snapshot Ratis is told about: always the newest checkpoint written, answered without touching the disk again. */
class CheckpointStorageTest {
    @TempDir
    Path dir;

    @Test
    void theLatestSnapshotFollowsEachCheckpointAndIsKeptBetweenThem() throws Exception {
        CheckpointFile.Storage storage = new CheckpointFile.Storage();
        storage.initAt(dir);
        assertNull(storage.getLatestSnapshot());

        storage.write(new CheckpointFile(TermIndex.valueOf(1, 10), 7, "v"));
        SnapshotInfo first = storage.getLatestSnapshot();
        assertEquals(TermIndex.valueOf(1, 10), first.getTermIndex());
        assertSame(first, storage.getLatestSnapshot(), "asked again for the same checkpoint: built again");
        assertEquals(dir.resolve("snapshot.1_10"), first.getFiles().get(0).getPath());

        storage.write(new CheckpointFile(TermIndex.valueOf(2, 25), 7, "v"));
        assertEquals(TermIndex.valueOf(2, 25), storage.getLatestSnapshot().getTermIndex(), "a stale answer after a checkpoint");

        CheckpointFile.Storage reopened = new CheckpointFile.Storage();
        reopened.initAt(dir);
        assertEquals(TermIndex.valueOf(2, 25), reopened.getLatestSnapshot().getTermIndex());
    }
}
