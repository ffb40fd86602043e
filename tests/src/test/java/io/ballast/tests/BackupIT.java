package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.backup.S3Server;
import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.DeleteSnapshotRequest;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeContentSource;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.BackupTarget;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ControllerProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code ballast backup} with real node processes and a real S3 server (S3Proxy on loopback): a
 * full backup of a 3-replica volume written with nbdcopy, an incremental one after qemu-io wrote 1%
 * of it (measured from the CLI's own report), restores into new 3-replica volumes read back
 * byte-identical with nbdcopy, the first backup deleted and the second still restorable, and the
 * CLI's progress, listing and refusals.
 */
class BackupIT {
    private static final long MIB = 1 << 20;
    private static final long SIZE = 64 * MIB;
    private static final Pattern UPLOADED = Pattern.compile("done, .*, uploaded (\\d+) bytes");

    private ReplicatedCluster cluster;
    private S3Server s3;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    void backupsGoUpIncrementallyAndRestoreIntoNewVolumes() throws Exception {
        ExternalTool.require("nbdcopy", "libnbd-bin");
        ExternalTool.require("qemu-io", "qemu-utils");
        Path dir = TestDirs.fresh("backup");
        s3 = new S3Server(dir.resolve("s3"));
        Path target = targetFile(dir, s3.bucket("ballast-backups"));
        cluster = new ReplicatedCluster(dir, 3).start();
        createVolume("src");
        String uri = cluster.cli(0, "attach", "--name", "src").assertSuccess().stdout().trim();

        Path data = dir.resolve("data.img");
        try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
            f.setLength(SIZE);
            byte[] chunk = new byte[(int) MIB];
            Random rnd = new Random(3);
            for (long off = 0; off < 24 * MIB; off += MIB) {
                rnd.nextBytes(chunk);
                f.write(chunk);
            }
        }
        ExternalTool.run(300, "nbdcopy", data.toString(), uri).assertSuccess();

        ExternalTool.Result full = backup("create", "--volume", "src", "--target", target.toString(), "--id", "full-1",
                "--chunk-size", "64K").assertSuccess();
        assertTrue(full.stdout().contains("(full)") && full.stdout().contains("%"), "progress is shown: " + full.describe());
        long fullBytes = uploaded(full);
        assertTrue(fullBytes > 23 * MIB && fullBytes < 25 * MIB, "random data does not compress: " + full.describe());

        // qemu-io writes 1% of the volume (ten 64 KiB runs of random bytes: a pattern would compress to
        // nothing), then the next backup builds on the first.
        List<String> io = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        Random rnd = new Random(11);
        for (int i = 0; i < 10; i++) {
            byte[] run = new byte[64 * 1024];
            rnd.nextBytes(run);
            Path runFile = Files.write(dir.resolve("run-" + i + ".bin"), run);
            io.addAll(List.of("-c", "write -s " + runFile + " " + (i * 37 + 5) * 64 * 1024 + " 64k"));
        }
        io.add(uri);
        ExternalTool.run(120, io).assertSuccess();
        ExternalTool.Result incremental = backup("create", "--volume", "src", "--target", target.toString(), "--id", "incr-2")
                .assertSuccess();
        assertTrue(incremental.stdout().contains("incremental from full-1"), incremental.describe());
        long incrementalBytes = uploaded(incremental);
        System.out.printf("backup: full %d KiB, incremental after writing 640 KiB: %d KiB (%.2f%% of the volume)%n",
                fullBytes >> 10, incrementalBytes >> 10, incrementalBytes * 100.0 / SIZE);
        assertTrue(incrementalBytes >= 640 * 1024 && incrementalBytes < 700 * 1024, "about 1% uploaded: " + incremental.describe());
        Path expected = dir.resolve("src-now.img");
        ExternalTool.run(300, "nbdcopy", uri, expected.toString()).assertSuccess();

        ExternalTool.Result list = backup("list", "--target", target.toString()).assertSuccess();
        assertTrue(list.stdout().contains("full-1") && list.stdout().contains("incr-2  volume=src"), list.describe());

        // Restore into a new 3-replica volume: byte-identical.
        assertEquals(sha256(expected), restoreAndRead(dir, "incr-2", "dst1", target));

        // The full backup goes; the incremental one still restores (its chunks survive the sweep).
        ExternalTool.Result deleted = backup("delete", "full-1", "--target", target.toString()).assertSuccess();
        assertTrue(deleted.stdout().startsWith("deleted full-1"), deleted.describe());
        String after = backup("list", "--target", target.toString()).assertSuccess().stdout();
        assertTrue(after.lines().noneMatch(l -> l.startsWith("full-1 ")) && after.contains("incr-2  volume=src"), after);
        assertEquals(sha256(expected), restoreAndRead(dir, "incr-2", "dst2", target));

        // Refusals say what is wrong.
        ExternalTool.Result missing = backup("restore", "no-such-backup", "--volume", "dst2", "--target", target.toString());
        assertTrue(missing.exitCode() != 0 && missing.stderr().contains("NOT_FOUND") && missing.stderr().contains("no-such-backup"),
                missing.describe());
        Path bad = Files.writeString(dir.resolve("bad.properties"), "bucket=x\nacessKeyId=typo\n");
        ExternalTool.Result typo = backup("list", "--target", bad.toString());
        assertTrue(typo.exitCode() != 0 && typo.stderr().contains("unknown key(s) [acessKeyId]"), typo.describe());
    }

    /**
     * The Kubernetes path through the CSI controller of a process: CreateSnapshot with the
     * VolumeSnapshotClass parameter {@code type: backup} and the bucket in the snapshotter's secrets
     * uploads the volume (a second one incrementally); CreateVolume from that snapshot with the
     * bucket in the provisioner's secrets restores it into a new 3-replica volume, byte-identical;
     * DeleteSnapshot removes the backup; the source volume deletes although its backup's base
     * snapshot was there. Without secrets, or into an encrypted volume: refused, saying why.
     */
    @Test
    void volumeSnapshotsOfTypeBackupRestoreIntoNewVolumes() throws Exception {
        ExternalTool.require("nbdcopy", "libnbd-bin");
        Path dir = TestDirs.fresh("backup-csi");
        s3 = new S3Server(dir.resolve("s3"));
        BackupTarget t = s3.bucket("csi-backups");
        Map<String, String> secrets = Map.of("endpoint", t.getEndpoint(), "bucket", t.getBucket(), "region", t.getRegion(),
                "accessKeyId", t.getAccessKeyId(), "secretAccessKey", t.getSecretAccessKey(), "unrelated", "ignored");
        cluster = new ReplicatedCluster(dir, 3, 3).start();
        try (ControllerProcess controller = ControllerProcess.start(cluster, dir)) {
            CsiClient csi = controller.csi();
            var src = csi.controller().createVolume(CreateVolumeRequest.newBuilder().setName("pvc-src").addVolumeCapabilities(BLOCK)
                    .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(SIZE)).putParameters("replicas", "3").build())
                    .getVolume();
            String home = cluster.placement(src.getVolumeId()).get(0);
            int homeIndex = Integer.parseInt(home.substring(1)) - 1;
            String uri = cluster.adminStub(homeIndex).attachVolume(AttachVolumeRequest.newBuilder().setName(src.getVolumeId())
                    .build()).getNbdUri();
            Path data = dir.resolve("data.img");
            Files.write(data, randomBytes(8 * MIB, 5));
            ExternalTool.run(300, "nbdcopy", data.toString(), uri).assertSuccess();
            Path expected = dir.resolve("expected.img");
            ExternalTool.run(300, "nbdcopy", uri, expected.toString()).assertSuccess();

            Status.Code noSecrets = code(() -> csi.controller().createSnapshot(CreateSnapshotRequest.newBuilder().setName("snap-x")
                    .setSourceVolumeId(src.getVolumeId()).putParameters("type", "backup").build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, noSecrets);
            var first = csi.controller(600).createSnapshot(CreateSnapshotRequest.newBuilder().setName("snapshot-1")
                    .setSourceVolumeId(src.getVolumeId()).putParameters("type", "backup").putAllSecrets(secrets).build()).getSnapshot();
            assertTrue(first.getSnapshotId().startsWith("backup:") && first.getReadyToUse(), first.toString());
            assertEquals(SIZE, first.getSizeBytes());
            var second = csi.controller(600).createSnapshot(CreateSnapshotRequest.newBuilder().setName("snapshot-2")
                    .setSourceVolumeId(src.getVolumeId()).putParameters("type", "backup").putAllSecrets(secrets).build()).getSnapshot();
            try (var bucket = new io.ballast.backup.BackupBucket(t)) {
                var m = new io.ballast.backup.BackupRepository(bucket).require("snapshot-2");
                assertEquals("snapshot-1", m.getBaseBackupId());
                assertEquals(0, m.getUploadedBytes(), "nothing changed: nothing uploaded");
            }

            CreateVolumeRequest restore = CreateVolumeRequest.newBuilder().setName("pvc-restored").addVolumeCapabilities(BLOCK)
                    .putParameters("replicas", "3").setVolumeContentSource(VolumeContentSource.newBuilder().setSnapshot(
                            VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(second.getSnapshotId()))).build();
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> csi.controller(600).createVolume(restore.toBuilder()
                    .setName("pvc-enc").putParameters("encrypted", "true").putAllSecrets(secrets).build())));
            var restored = csi.controller(600).createVolume(restore.toBuilder().putAllSecrets(secrets).build()).getVolume();
            assertEquals(SIZE, restored.getCapacityBytes());
            String rHome = cluster.placement(restored.getVolumeId()).get(0);
            String rUri = cluster.adminStub(Integer.parseInt(rHome.substring(1)) - 1).attachVolume(AttachVolumeRequest.newBuilder()
                    .setName(restored.getVolumeId()).build()).getNbdUri();
            Path read = dir.resolve("restored.img");
            ExternalTool.run(300, "nbdcopy", rUri, read.toString()).assertSuccess();
            assertEquals(sha256(expected), sha256(read));

            csi.controller().deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(first.getSnapshotId())
                    .putAllSecrets(secrets).build());
            try (var bucket = new io.ballast.backup.BackupBucket(t)) {
                assertEquals(List.of("snapshot-2"), new io.ballast.backup.BackupRepository(bucket).list().stream()
                        .map(io.ballast.proto.v1.BackupManifest::getBackupId).toList());
            }
            cluster.adminStub(homeIndex).detachVolume(DetachVolumeRequest.newBuilder().setName(src.getVolumeId()).build());
            csi.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(src.getVolumeId()).build());
        }
    }

    private static final VolumeCapability BLOCK = VolumeCapability.newBuilder()
            .setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
            .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();

    private static Status.Code code(Runnable call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    private static byte[] randomBytes(long n, long seed) {
        byte[] b = new byte[(int) n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private ExternalTool.Result backup(String verb, String... args) {
        List<String> cmd = new ArrayList<>(List.of("backup", verb));
        if (!verb.equals("list") && !verb.equals("delete")) {
            cmd.addAll(List.of("--admin", cluster.admin(0)));
        }
        cmd.addAll(List.of(args));
        return ExternalTool.run(300, BallastNodeProcess.command(cmd.toArray(String[]::new)));
    }

    private String restoreAndRead(Path dir, String backup, String volume, Path target) {
        createVolume(volume);
        ExternalTool.Result r = backup("restore", backup, "--volume", volume, "--target", target.toString()).assertSuccess();
        assertTrue(r.stdout().contains("done"), r.describe());
        String uri = cluster.cli(0, "attach", "--name", volume).assertSuccess().stdout().trim();
        Path read = dir.resolve(volume + ".img");
        ExternalTool.run(300, "nbdcopy", uri, read.toString()).assertSuccess();
        return sha256(read);
    }

    private void createVolume(String name) {
        List<String> args = new ArrayList<>(List.of("--name", name, "--size", (SIZE >> 20) + "M"));
        args.addAll(cluster.replicaArgs(0, 1, 2));
        cluster.cli(0, "create", args.toArray(String[]::new)).assertSuccess();
    }

    private static Path targetFile(Path dir, BackupTarget t) throws Exception {
        return Files.writeString(dir.resolve("target.properties"), "endpoint=" + t.getEndpoint() + "\nbucket=" + t.getBucket()
                + "\nregion=" + t.getRegion() + "\naccessKeyId=" + t.getAccessKeyId() + "\nsecretAccessKey="
                + t.getSecretAccessKey() + "\nprefix=it/\n");
    }

    private static long uploaded(ExternalTool.Result r) {
        Matcher m = UPLOADED.matcher(r.stdout());
        assertTrue(m.find(), "no 'uploaded' figure: " + r.describe());
        return Long.parseLong(m.group(1));
    }

    private static String sha256(Path file) {
        return ExternalTool.run(120, "sha256sum", file.toString()).assertSuccess().stdout().split("\\s+")[0];
    }
}
