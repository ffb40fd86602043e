package io.ballast.backup;

import io.ballast.engine.store.SnapshotReader;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.replication.TestCluster;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Backup and restore throughput against the disk's sequential write rate, in one run (not part of
 * {@code ./mvnw verify}; docs/benchmarks.md has the command): a 3-replica in-process volume filled
 * with random (incompressible) data, snapshotted, backed up to S3Proxy (its filesystem store on the
 * same disk), restored into a new 3-replica volume; fio's 1 MiB sequential write on the same
 * filesystem is the reference. Sizes: -Dbench.mib (default 1024).
 */
class BackupBenchmark {
    @Test
    @org.junit.jupiter.api.Timeout(value = 30, unit = TimeUnit.MINUTES)
    void backupAndRestoreThroughput() throws Exception {
        long mib = Long.getLong("bench.mib", 1024);
        long size = mib << 20;
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("bench.dir", "target")).toAbsolutePath(), "backup-bench");
        try (TestCluster cluster = new TestCluster(dir.resolve("cluster"), 3, 1_000_000);
                S3Server s3 = new S3Server(Files.createDirectories(dir.resolve("s3")));
                BackupBucket bucket = new BackupBucket(s3.bucket("bench"))) {
            ReplicatedBlockVolume src = cluster.createVolume("src", size);
            byte[] chunk = new byte[4 << 20];
            Random rnd = new Random(1);
            for (long off = 0; off < size; off += chunk.length) {
                rnd.nextBytes(chunk);
                src.write(off, ByteBuffer.wrap(chunk), false).get(60, TimeUnit.SECONDS);
            }
            src.flush().get(60, TimeUnit.SECONDS);
            cluster.nodes[0].snapshots().create("src", "s");
            BackupRepository repo = new BackupRepository(bucket);
            long t0 = System.nanoTime();
            BackupManifest m;
            try (SnapshotReader r = cluster.nodes[0].snapshots().open("src", "s", "benchmark")) {
                m = new BackupWriter(repo, 0, BackupProgressListener.NONE).write("b", "src", r, 0, null, null, 1);
            }
            double backupSeconds = (System.nanoTime() - t0) / 1e9;
            ReplicatedBlockVolume dst = cluster.createVolume("dst", size);
            long t1 = System.nanoTime();
            new BackupRestorer(repo, 0, BackupProgressListener.NONE).restore(m, dst, 0, n -> { });
            double restoreSeconds = (System.nanoTime() - t1) / 1e9;
            Process fio = new ProcessBuilder("fio", "--name=seq", "--filename=" + dir.resolve("fio.dat"), "--rw=write",
                    "--bs=1m", "--size=" + mib + "m", "--ioengine=libaio", "--direct=1", "--iodepth=8", "--end_fsync=1",
                    "--output-format=terse").redirectErrorStream(true).start();
            String out = new String(fio.getInputStream().readAllBytes()).strip();
            fio.waitFor();
            double fioMiBs = Double.parseDouble(out.split(";")[47]) / 1024; // terse v3: write bandwidth in KiB/s
            System.out.printf("backup-bench: %d MiB; backup %.1f s = %.0f MiB/s (uploaded %d MiB); restore %.1f s = %.0f MiB/s; "
                    + "disk sequential write (fio 1M QD8 direct) %.0f MiB/s; backup/disk %.2fx, restore/disk %.2fx%n",
                    mib, backupSeconds, mib / backupSeconds, m.getUploadedBytes() >> 20, restoreSeconds, mib / restoreSeconds,
                    fioMiBs, mib / backupSeconds / fioMiBs, mib / restoreSeconds / fioMiBs);
        } finally {
            new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor();
        }
    }
}
