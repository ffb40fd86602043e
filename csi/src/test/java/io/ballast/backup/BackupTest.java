package io.ballast.backup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.engine.volume.BlockVolume;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.replication.TestCluster;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.rebuild.RatePacer;
import io.ballast.replication.testing.TestBytes;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backups of an in-process replicated volume to a real S3 server (S3Proxy on loopback): a full
 * backup, an incremental one after writing 1% of the volume uploads about 1% of the bytes,
 * restores into new volumes are byte-identical to the snapshots, deleting the middle
 * backup keeps the others restorable, a flipped byte in a stored chunk fails the restore naming the
 * chunk, and an interrupted backup or restore resumes without starting over.
 */
class BackupTest {
    private static final long MIB = 1 << 20;
    private static final long SIZE = 64 * MIB;
    /** Chunks of 64 KiB: the unit of incremental backups is the chunk (1 MiB unless chosen). */
    private static final int CHUNK = 64 << 10;

    @TempDir
    Path tmp;

    private TestCluster cluster;
    private S3Server s3;
    private BackupBucket bucket;

    @AfterEach
    void stop() throws Exception {
        if (bucket != null) {
            bucket.close();
        }
        if (s3 != null) {
            s3.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private BackupRepository start() throws Exception {
        // One replica: BackupIT restores into 3-replica volumes of real processes; here the chunks matter.
        cluster = new TestCluster(tmp.resolve("cluster"), 1, 10_000);
        s3 = new S3Server(tmp.resolve("s3"));
        bucket = new BackupBucket(s3.bucket("backups").toBuilder().setPrefix("test-cluster").build());
        return new BackupRepository(bucket);
    }

    @Test
    void fullIncrementalRestoreDeleteAndCorruption() throws Exception {
        BackupRepository repo = start();
        ReplicatedBlockVolume src = cluster.createVolume("src", SIZE);
        Random rnd = new Random(7);
        write(src, 0, TestBytes.of(1, (int) (16 * MIB))); // 16 MiB of data, 48 MiB never written
        write(src, 40 * MIB, TestBytes.of(2, (int) (4 * MIB)));
        SnapshotHandle s1 = snapshot("s1");
        BackupManifest b1 = backup(repo, "b1", s1, null, null);
        assertEquals(SIZE / CHUNK, b1.getChunksCount());
        assertTrue(b1.getUploadedBytes() >= 19 * MIB && b1.getUploadedBytes() < 21 * MIB, "random data does not compress: " + b1);
        assertEquals(20 * MIB, b1.getReadBytes(), "holes are not read");

        // 1% of the volume's blocks, in runs of 64 KiB at distinct random places of the written data.
        int runs = (int) (SIZE / 100 / CHUNK);
        List<Long> places = new ArrayList<>();
        for (long at = 0; at < 16 * MIB; at += CHUNK) {
            places.add(at);
        }
        java.util.Collections.shuffle(places, rnd);
        for (int r = 0; r < runs; r++) {
            write(src, places.get(r), TestBytes.of(100 + r, CHUNK));
        }
        SnapshotHandle s2 = snapshot("s2");
        BackupManifest b2 = backup(repo, "b2", s2, b1, s1);
        double share = (double) b2.getUploadedBytes() / SIZE;
        System.out.printf("incremental after writing %d KiB (1%% of the volume): uploaded %d KiB (%.2f%% of the volume), "
                + "read %d KiB; full backup uploaded %d KiB%n", runs * CHUNK >> 10, b2.getUploadedBytes() >> 10, share * 100,
                b2.getReadBytes() >> 10, b1.getUploadedBytes() >> 10);
        assertTrue(share > 0.009 && share < 0.012, "about 1% of the volume goes up: " + share * 100 + "%");
        assertEquals((long) runs * CHUNK, b2.getReadBytes(), "only the changed chunks are read");
        assertEquals("b1", b2.getBaseBackupId());

        write(src, 8 * MIB, TestBytes.of(3, (int) MIB));
        write(src, places.get(0), TestBytes.of(4, CHUNK)); // replaces a chunk only b2 holds
        SnapshotHandle s3snap = snapshot("s3");
        BackupManifest b3 = backup(repo, "b3", s3snap, b2, s2);

        // Restores into new volumes equal the snapshots byte for byte.
        assertArrayEquals(content(s2), restore(repo, "b2", "dst2"));

        // The middle backup goes; the others still restore (b3 shares most of b2's chunks).
        java.util.Set<com.google.protobuf.ByteString> onlyB2 = new java.util.HashSet<>(b2.getChunksList());
        onlyB2.removeAll(b1.getChunksList());
        onlyB2.removeAll(b3.getChunksList());
        BackupRepository.Deleted d = repo.delete("b2", Instant.now().plusSeconds(7200)); // past the sweep's grace
        assertTrue(d.existed());
        assertEquals(List.of("b1", "b3"), repo.list().stream().map(BackupManifest::getBackupId).toList());
        assertArrayEquals(content(s1), restore(repo, "b1", "dst1"));
        assertArrayEquals(content(s3snap), restore(repo, "b3", "dst3"));
        assertTrue(!onlyB2.isEmpty() && d.chunksRemoved() == onlyB2.size(), "exactly the chunks only b2 held are swept: " + d
                + ", " + onlyB2.size() + " held by b2 alone");

        // A flipped byte in a stored chunk fails the restore, naming the chunk.
        int index = (int) (8 * MIB / CHUNK);
        String victim = ChunkCodec.name(b3.getChunks(index).toByteArray());
        byte[] stored = bucket.get(victim).orElseThrow();
        stored[stored.length / 2] ^= 0x40;
        bucket.put(victim, stored);
        BallastException e = assertThrows(BallastException.class, () -> restore(repo, "b3", "dst4"));
        assertEquals(ErrorCode.CORRUPTION, e.code());
        assertTrue(e.getMessage().contains("chunk " + index + " (volume bytes " + 8 * MIB + " to " + (8 * MIB + CHUNK)), e.getMessage());
    }

    @Test
    void anInterruptedBackupOrRestoreResumes() throws Exception {
        BackupRepository repo = start();
        ReplicatedBlockVolume src = cluster.createVolume("src", SIZE);
        write(src, 0, TestBytes.of(5, (int) (32 * MIB)));
        SnapshotHandle s = snapshot("s");

        // A backup stopped half-way (the thread interrupted), then run again with the same id.
        AtomicInteger seen = new AtomicInteger();
        Thread self = Thread.currentThread();
        BackupWriter stopping = new BackupWriter(repo, 0, (done, total, up) -> {
            if (done == 20 * MIB) {
                self.interrupt();
            }
        });
        assertThrows(InterruptedException.class, () -> stopping.write("b", "src", s.reader, CHUNK, null, null, 1));
        assertTrue(repo.get("b").isEmpty(), "no manifest for an unfinished backup");
        BackupManifest b = backup(repo, "b", s, null, null);
        // The first run's workers may have sent a few more chunks after the 20 MiB mark.
        long tail = (long) BackupWriter.PARALLEL * CHUNK + (64 << 10);
        assertTrue(b.getUploadedBytes() <= 12 * MIB + (64 << 10) && b.getUploadedBytes() >= 12 * MIB - tail,
                "the second run uploads only what the first did not: " + b.getUploadedBytes());

        // A restore stopped after its first checkpoint resumes from it.
        ReplicatedBlockVolume dst = cluster.createVolume("dst", SIZE);
        List<Integer> checkpoints = new ArrayList<>();
        AtomicInteger chunks = new AtomicInteger();
        BackupRestorer first = new BackupRestorer(repo, 0, (done, total, down) -> {
            if (chunks.incrementAndGet() == BackupRestorer.CHECKPOINT_CHUNKS + 3) {
                self.interrupt();
            }
        });
        assertThrows(InterruptedException.class, () -> first.restore(b, dst, 0, checkpoints::add));
        assertEquals(List.of(BackupRestorer.CHECKPOINT_CHUNKS), checkpoints);
        AtomicInteger rest = new AtomicInteger();
        new BackupRestorer(repo, 0, (done, total, down) -> rest.incrementAndGet()).restore(b, dst, checkpoints.get(0), checkpoints::add);
        assertEquals(b.getChunksCount() - BackupRestorer.CHECKPOINT_CHUNKS, rest.get(), "resumed, not restarted");
        assertArrayEquals(content(s), read(dst, 0, (int) SIZE));
    }

    /**
     * The race a bucket without locks invites: the base of a running incremental backup is deleted
     * while the backup takes that base's chunks over unread. The delete sweeps nothing while the
     * backup runs, the backup restores byte for byte, and the next delete sweeps what no backup uses.
     */
    @Test
    void deletingTheBaseOfARunningBackupKeepsTheChunksItTakesOver() throws Exception {
        BackupRepository repo = start();
        ReplicatedBlockVolume src = cluster.createVolume("src", SIZE);
        SnapshotHandle s1 = writeAndSnapshot(src, 11, 16 * MIB, "s1");
        BackupManifest b1 = backup(repo, "b1", s1, null, null);
        write(src, 0, TestBytes.of(12, CHUNK)); // chunk 0 changes: b1's chunk 0 is b1's alone
        SnapshotHandle s2 = snapshot("s2");

        CountDownLatch halfway = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        BackupWriter pausing = new BackupWriter(repo, 0, (done, total, up) -> {
            if (done >= 8 * MIB && halfway.getCount() > 0) {
                halfway.countDown();
                try {
                    resume.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        CompletableFuture<BackupManifest> running = inBackground(() -> pausing.write("b2", "src", s2.reader, CHUNK, b1, s1.reader, 2));
        assertTrue(halfway.await(60, TimeUnit.SECONDS), "b2 got half-way");
        Instant late = Instant.now().plusSeconds(7200); // past the sweep's grace for fresh chunks
        BackupRepository.Deleted d = repo.delete("b1", late);
        assertTrue(d.existed());
        assertEquals(List.of("b2"), d.sweepDeferredBy());
        assertEquals(0, d.chunksRemoved(), "no chunk swept while b2 runs");
        resume.countDown();
        BackupManifest b2 = running.get(60, TimeUnit.SECONDS);
        assertEquals("b1", b2.getBaseBackupId());
        assertTrue(b2.getUploadedBytes() <= CHUNK + (4 << 10), "incremental: uploaded " + b2.getUploadedBytes());
        assertArrayEquals(content(s2), restore(repo, "b2", "dst2"));

        BackupRepository.Deleted next = repo.delete("none", late);
        assertEquals(List.of(), next.sweepDeferredBy());
        assertEquals(1, next.chunksRemoved(), "b1's old chunk 0, which b2 does not use");
        assertArrayEquals(content(s2), restore(repo, "b2", "dst3"));
    }

    /**
     * The other order: a sweep is under way when a backup starts. The backup announces itself and
     * waits for the sweep to end; its base was deleted meanwhile, so it is a full backup. A crashed
     * backup's marker (older than a day) holds no sweep back.
     */
    @Test
    void aBackupWaitsForASweepUnderWayAndIsFullWhenItsBaseIsGone() throws Exception {
        BackupRepository repo = start();
        SnapshotHandle s1 = writeAndSnapshot(cluster.createVolume("src", SIZE), 13, 8 * MIB, "s1");
        BackupManifest b1 = backup(repo, "b1", s1, null, null);
        assertEquals(List.of(), repo.delete("b1", Instant.now()).sweepDeferredBy());

        bucket.put(SweepGuard.SWEEPING + "elsewhere", new byte[0]); // another delete's sweep, under way
        CompletableFuture<BackupManifest> running = inBackground(() -> backup(repo, "b2", s1, b1, s1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!bucket.exists(SweepGuard.RUNNING + "b2") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(bucket.exists(SweepGuard.RUNNING + "b2"), "b2 announces itself first");
        Thread.sleep(1500);
        assertTrue(!running.isDone() && repo.get("b2").isEmpty(), "b2 waits while the sweep is under way");
        bucket.delete(SweepGuard.SWEEPING + "elsewhere");
        BackupManifest b2 = running.get(60, TimeUnit.SECONDS);
        assertEquals("", b2.getBaseBackupId(), "b1 is gone: b2 builds on nothing");
        assertEquals(8 * MIB, b2.getReadBytes(), "full: every written block read (b1's chunks, spared by the grace, are not sent again)");
        assertTrue(!bucket.exists(SweepGuard.RUNNING + "b2"), "finished: no longer running");
        assertArrayEquals(content(s1), restore(repo, "b2", "dst"));

        // A delete that died mid-sweep left its record: ten minutes on, it holds no backup back.
        bucket.put(SweepGuard.SWEEPING + "crashed-delete", new byte[0]);
        BackupRepository later = new BackupRepository(bucket, () -> Instant.now().plus(SweepGuard.SWEEP_STALE).plusSeconds(60));
        assertEquals("", inBackground(() -> backup(later, "b3", s1, null, null)).get(60, TimeUnit.SECONDS).getBaseBackupId());
        bucket.delete(SweepGuard.SWEEPING + "crashed-delete");

        bucket.put(SweepGuard.RUNNING + "crashed", new byte[0]);
        assertEquals(List.of("crashed"), repo.delete("none", Instant.now()).sweepDeferredBy());
        assertEquals(List.of(), repo.delete("none", Instant.now().plus(SweepGuard.STALE).plusSeconds(60)).sweepDeferredBy(),
                "a day-old marker is a crashed backup's");
    }

    /**
     * {@code --rate}: every byte a backup uploads and a restore downloads is taken from the pacer
     * first, so the copy takes its bytes over the rate (the pacer's own clock, advanced by its sleeps:
     * the check is what the pace asks, not how fast this machine is).
     */
    @Test
    void aRateLimitPacesUploadAndRestore() throws Exception {
        BackupRepository repo = start();
        SnapshotHandle s = writeAndSnapshot(cluster.createVolume("src", SIZE), 9, 8 * MIB, "s");
        AtomicLong clock = new AtomicLong();
        RatePacer.Sleeper advance = clock::addAndGet;

        long start = clock.get();
        BackupManifest b = new BackupWriter(repo, new RatePacer(MIB, clock::get, advance),
                BackupProgressListener.NONE).write("paced", "src", s.reader, CHUNK, null, null, 1);
        assertTrue(b.getUploadedBytes() > 8 * MIB, "8 MiB of random data uploaded: " + b.getUploadedBytes());
        // At 1 MiB/s the first second's worth goes at once; the rest takes its size in seconds.
        assertEquals((b.getUploadedBytes() - MIB) / (double) MIB, (clock.get() - start) / 1e9, 0.001, "upload paced");

        ReplicatedBlockVolume dst = cluster.createVolume("dst", SIZE);
        AtomicLong downloaded = new AtomicLong();
        start = clock.get();
        new BackupRestorer(repo, new RatePacer(2 * MIB, clock::get, advance),
                (done, total, down) -> downloaded.set(down)).restore(b, dst, 0, n -> { });
        assertEquals(b.getUploadedBytes(), downloaded.get(), "the restore downloads what the backup uploaded");
        assertEquals((downloaded.get() - 2 * MIB) / (double) (2 * MIB), (clock.get() - start) / 1e9, 0.001, "download paced");
        assertArrayEquals(content(s), read(dst, 0, (int) SIZE));
    }

    /**
     * An encrypted volume's backup holds ciphertext only (a marker written through the decrypting
     * view is in no object of the bucket) and restores, in another cluster reading the same bucket,
     * into a volume that opens with the passphrase and shows the marker; a wrong passphrase opens
     * nothing.
     */
    @Test
    void anEncryptedVolumeIsBackedUpAsCiphertextAndRestoresElsewhereWithItsPassphrase() throws Exception {
        BackupRepository repo = start();
        long raw = SIZE + io.ballast.engine.crypt.KeyHeaderLayout.DATA_OFFSET;
        ReplicatedBlockVolume src = cluster.createVolume("src", raw);
        var keys = new io.ballast.engine.crypt.VolumeKeys(new java.security.SecureRandom(), 1000);
        BlockVolume plain = keys.unlock(src, io.ballast.engine.crypt.Passphrases.of("backup-pass")).volume();
        byte[] marker = ("ballast-backup-marker-" + java.util.UUID.randomUUID()).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] data = new byte[(int) MIB];
        for (int at = 0; at + marker.length <= data.length; at += 512) {
            System.arraycopy(marker, 0, data, at, marker.length);
        }
        write(plain, 3 * MIB, data);
        BackupManifest b = backup(repo, "enc-1", snapshot("s1"), null, null);
        assertTrue(b.getEncrypted(), "the manifest says so");
        for (BackupBucket.Entry e : bucket.list("")) {
            byte[] object = bucket.get(e.key()).orElseThrow();
            assertTrue(indexOf(object, marker) < 0, "object " + e.key() + " holds the plaintext");
        }

        // Another cluster, the same bucket.
        try (TestCluster other = new TestCluster(tmp.resolve("other-cluster"), 1, 10_000)) {
            ReplicatedBlockVolume dst = other.createVolume("restored", raw);
            new BackupRestorer(repo, 0, BackupProgressListener.NONE).restore(repo.require("enc-1"), dst, 0, n -> { });
            assertEquals(ErrorCode.INVALID_ARGUMENT, assertThrows(BallastException.class,
                    () -> keys.unlock(dst, io.ballast.engine.crypt.Passphrases.of("wrong"))).code());
            BlockVolume opened = keys.unlock(dst, io.ballast.engine.crypt.Passphrases.of("backup-pass")).volume();
            assertArrayEquals(data, read(opened, 3 * MIB, (int) MIB));
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** {@code bytes} of seeded data at the start of {@code v}, then snapshot {@code id} of it. */
    private SnapshotHandle writeAndSnapshot(BlockVolume v, int seed, long bytes, String id) throws Exception {
        write(v, 0, TestBytes.of(seed, (int) bytes));
        return snapshot(id);
    }

    private interface BackupCall {
        BackupManifest run() throws InterruptedException;
    }

    private static CompletableFuture<BackupManifest> inBackground(BackupCall call) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return call.run();
            } catch (InterruptedException e) {
                throw new CompletionException(e);
            }
        });
    }

    private record SnapshotHandle(SnapshotReader reader) {}

    private SnapshotHandle snapshot(String id) {
        cluster.nodes[0].snapshots().create("src", id);
        return new SnapshotHandle(cluster.nodes[0].snapshots().open("src", id, "test"));
    }

    private BackupManifest backup(BackupRepository repo, String id, SnapshotHandle s, BackupManifest base, SnapshotHandle baseSnap)
            throws InterruptedException {
        return new BackupWriter(repo, 0, BackupProgressListener.NONE).write(id, "src", s.reader, CHUNK, base,
                baseSnap == null ? null : baseSnap.reader, System.currentTimeMillis());
    }

    private byte[] restore(BackupRepository repo, String id, String volume) throws Exception {
        ReplicatedBlockVolume dst = cluster.createVolume(volume, SIZE);
        new BackupRestorer(repo, 0, BackupProgressListener.NONE).restore(repo.require(id), dst, 0, n -> { });
        return read(dst, 0, (int) SIZE);
    }

    private static byte[] content(SnapshotHandle s) {
        ByteBuffer b = ByteBuffer.allocate((int) s.reader.size());
        s.reader.read(0, b);
        return b.array();
    }

    private static void write(BlockVolume v, long off, byte[] data) throws Exception {
        v.write(off, ByteBuffer.wrap(data), false).get(60, TimeUnit.SECONDS);
    }

    private static byte[] read(BlockVolume v, long off, int len) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(len);
        v.read(off, b).get(60, TimeUnit.SECONDS);
        return b.array();
    }
}
