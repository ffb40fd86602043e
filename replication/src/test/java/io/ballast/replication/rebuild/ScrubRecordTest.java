package io.ballast.replication.rebuild;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScrubRecordTest {
    @TempDir
    Path tmp;

    @Test
    void readsBackWhatItWroteAndCountsTheIntervalFromTheLastPassOrFromTrackingsStart() throws Exception {
        Path file = tmp.resolve("scrub-record");
        ScrubRecord fresh = ScrubRecord.fresh(1_000);
        assertEquals(1_000 + 3_600_000, fresh.dueAtMillis(Duration.ofHours(1)), "never scrubbed: an interval after first seen");
        ScrubRecord stopped = fresh.stoppedAt(8L << 20);
        stopped.write(file);
        assertEquals(stopped, ScrubRecord.read(file));
        ScrubRecord done = stopped.completed(50_000, 2, 1);
        done.write(file);
        assertEquals(new ScrubRecord(1_000, 50_000, 2, 1, 0), ScrubRecord.read(file), "a finished pass clears the resume point");
        assertEquals(50_000 + 3_600_000, done.dueAtMillis(Duration.ofHours(1)));
    }

    @Test
    void aMissingTruncatedOrDamagedFileIsNoRecord() throws Exception {
        Path file = tmp.resolve("scrub-record");
        assertNull(ScrubRecord.read(file));
        ScrubRecord.fresh(1_000).write(file);
        byte[] bytes = Files.readAllBytes(file);
        bytes[3] ^= 1;
        Files.write(file, bytes);
        assertNull(ScrubRecord.read(file), "a flipped bit fails the CRC");
        Files.write(file, new byte[10]);
        assertNull(ScrubRecord.read(file), "a short file");
    }
}
