package io.ballast.cli;

import io.ballast.backup.BackupBucket;
import io.ballast.backup.BackupRepository;
import io.ballast.backup.BackupTargets;
import io.ballast.engine.error.BallastException;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.proto.v1.BackupProgress;
import io.ballast.proto.v1.BackupTarget;
import io.ballast.proto.v1.BackupVolumeRequest;
import io.ballast.proto.v1.CreateSnapshotRequest;
import io.ballast.proto.v1.DeleteSnapshotRequest;
import io.ballast.proto.v1.RestoreVolumeRequest;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code ballast backup create|list|delete|restore}: volume backups in S3-compatible object storage. */
@Command(name = "backup", mixinStandardHelpOptions = true,
        description = {"Back volumes up to S3-compatible object storage and restore them into new volumes (also of another",
            "cluster reading the same bucket). The bucket is described by a properties file (--target): endpoint, bucket,",
            "region, accessKeyId, secretAccessKey and optionally prefix.",
            "A backup uploads a snapshot of the volume in compressed, checksummed chunks; the next backup of the same volume",
            "uploads only the chunks that changed since. Encrypted volumes are backed up as ciphertext."},
        subcommands = {BackupCommand.Create.class, BackupCommand.ListBackups.class, BackupCommand.Delete.class,
            BackupCommand.Restore.class})
final class BackupCommand {
    /**
     * Snapshots this command takes for backups are named after them; the newest one per volume stays
     * as the next backup's base. Only these are dropped here: the controller's own bases (Kubernetes
     * backups of the same volume) are recorded in its catalog and go through it.
     */
    static final String SNAPSHOT_PREFIX = "cli-backup-";
    private static final long DEADLINE_SECONDS = 7 * 24 * 3600;

    @Option(names = "--admin", paramLabel = "HOST:PORT", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Admin API of the node to talk to (without it, a node holding a replica of the volume).")
    String admin;

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,...]", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Admin address(es) of any of the cluster's nodes (default: $BALLAST_CLUSTER, else ./ballast-dev/cluster).")
    String cluster;

    /** The volume verbs (resolve a name, call a node) with this command's addresses. */
    private VolumeCommand volumes() {
        VolumeCommand v = new VolumeCommand();
        v.admin = admin;
        v.cluster = cluster;
        return v;
    }

    static BackupTarget target(Path file) {
        try {
            return BackupTargets.fromFile(file);
        } catch (BallastException e) {
            throw new CliFailure(2, e.getMessage());
        }
    }

    private static void printProgress(PrintWriter out, String what, Iterator<BackupProgress> stream, String moved) {
        long lastPct = -1;
        while (stream.hasNext()) {
            BackupProgress p = stream.next();
            if (p.getDone()) {
                BackupManifest m = p.getManifest();
                out.printf("%s: done, %s, %s %d bytes (%s)%n", what, ByteSize.human(m.getSizeBytes()), moved,
                        p.getTransferredBytes(), ByteSize.human(p.getTransferredBytes()));
                return;
            }
            long pct = p.getBytesTotal() == 0 ? 100 : p.getBytesDone() * 100 / p.getBytesTotal();
            if (pct != lastPct) {
                out.printf("%s: %d%% (%s of %s), %s %s%n", what, pct, ByteSize.human(p.getBytesDone()),
                        ByteSize.human(p.getBytesTotal()), moved, ByteSize.human(p.getTransferredBytes()));
                out.flush();
                lastPct = pct;
            }
        }
    }

    static void print(PrintWriter out, BackupManifest m) {
        out.printf("%s  volume=%s  size=%s  created=%s  %s  uploaded=%s%s%n", m.getBackupId(), m.getVolume(),
                ByteSize.human(m.getSizeBytes()), Instant.ofEpochMilli(m.getCreatedMillis()),
                m.getBaseBackupId().isEmpty() ? "full" : "incremental from " + m.getBaseBackupId(),
                ByteSize.human(m.getUploadedBytes()), m.getEncrypted() ? "  encrypted" : "");
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = {
        "Snapshot the volume and back the snapshot up. Incremental from the volume's newest backup in the bucket",
        "unless --full; the snapshot of the previous backup is deleted once this one is done (it was the base).",
        "Run again with the same --id after an interruption, it uploads only what is missing.",
        "Example: ballast backup create --volume pvc-data --target s3.properties"})
    static final class Create implements Callable<Integer> {
        @ParentCommand BackupCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--volume", required = true, description = "The volume's name or id.") String volume;
        @Option(names = "--target", required = true, paramLabel = "FILE", description = "The bucket (properties file).") Path target;
        @Option(names = "--id", description = "Backup id (default: VOLUME-yyyyMMdd-HHmmss, UTC).") String id;
        @Option(names = "--full", description = "Upload every chunk that is not in the bucket yet, whatever the last backup.") boolean full;
        @Option(names = "--rate", paramLabel = "BYTES/S", description = "Upload at most this fast, e.g. 50M (default: unpaced).") String rate;
        @Option(names = "--chunk-size", paramLabel = "SIZE", description = "Bytes per chunk, 64K to 16M (default 1M; an "
                + "incremental backup keeps its base's). Smaller chunks make incremental backups of scattered writes smaller.")
        String chunkSize;

        @Override
        public Integer call() {
            BackupTarget t = target(target);
            VolumeCommand volumes = parent.volumes();
            String volumeId = volumes.resolve(volume);
            String backupId = id != null ? id : volume + "-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                    .withZone(ZoneOffset.UTC).format(Instant.now());
            BackupManifest base;
            try (BackupBucket bucket = new BackupBucket(t)) {
                BackupRepository.checkId(backupId);
                base = full ? null : new BackupRepository(bucket).list().stream().filter(m -> m.getVolume().equals(volumeId))
                        .filter(m -> !m.getBackupId().equals(backupId)).max(Comparator.comparingLong(BackupManifest::getCreatedMillis))
                        .orElse(null);
            } catch (BallastException e) {
                throw new CliFailure(1, "ballast backup create: " + e.getMessage());
            }
            String snapshot = SNAPSHOT_PREFIX + backupId;
            return volumes.withAdmin(spec, DEADLINE_SECONDS, (stub, out) -> {
                stub.createSnapshot(CreateSnapshotRequest.newBuilder().setVolume(volumeId).setSnapshotId(snapshot).build());
                out.println("snapshot " + volume + "@" + snapshot + " taken; backing it up to " + BackupTargets.describe(t)
                        + (base == null ? " (full)" : " (incremental from " + base.getBackupId() + ")"));
                BackupVolumeRequest.Builder req = BackupVolumeRequest.newBuilder().setVolume(volumeId).setSnapshotId(snapshot)
                        .setTarget(t).setBackupId(backupId).setBaseBackupId(base == null ? "" : base.getBackupId())
                        .setRateBytesPerSecond(rate == null ? 0 : ByteSize.parse(rate))
                        .setChunkBytes(chunkSize == null ? 0 : (int) ByteSize.parse(chunkSize));
                printProgress(out, "backup " + backupId, stub.backupVolume(req.build()), "uploaded");
                if (base != null && base.getSnapshotId().startsWith(SNAPSHOT_PREFIX)) {
                    stub.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setVolume(volumeId)
                            .setSnapshotId(base.getSnapshotId()).build());
                }
            });
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the backups in the bucket, oldest first.")
    static final class ListBackups implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--target", required = true, paramLabel = "FILE", description = "The bucket (properties file).") Path target;
        @Option(names = "--volume", description = "Only this volume's (its id as recorded).") String volume;

        @Override
        public Integer call() {
            try (BackupBucket bucket = new BackupBucket(target(target))) {
                List<BackupManifest> all = new BackupRepository(bucket).list();
                PrintWriter out = spec.commandLine().getOut();
                all.stream().filter(m -> volume == null || m.getVolume().equals(volume)).forEach(m -> print(out, m));
                out.flush();
                return 0;
            } catch (BallastException e) {
                throw new CliFailure(1, "ballast backup list: " + e.getMessage());
            }
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = {
        "Delete a backup and the chunks no other backup uses (chunks uploaded in the last hour are spared: they may",
        "belong to a backup under way; while a backup runs no chunk is removed, a later delete does it). Deleting an",
        "absent backup succeeds; deleting an unfinished one gives it up."})
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "ID", description = "The backup id.") String id;
        @Option(names = "--target", required = true, paramLabel = "FILE", description = "The bucket (properties file).") Path target;

        @Override
        public Integer call() {
            try (BackupBucket bucket = new BackupBucket(target(target))) {
                BackupRepository.Deleted d = new BackupRepository(bucket).delete(id, Instant.now());
                if (d.sweepDeferredBy().isEmpty()) {
                    spec.commandLine().getOut().printf("%s %s; %d chunk(s) no backup used removed (%s)%n",
                            d.existed() ? "deleted" : "no backup", id, d.chunksRemoved(), ByteSize.human(d.bytesRemoved()));
                } else {
                    spec.commandLine().getOut().printf("%s %s; its chunks stay while backup(s) %s run (a later delete removes"
                            + " those no backup uses)%n", d.existed() ? "deleted" : "no backup", id, String.join(", ", d.sweepDeferredBy()));
                }
                spec.commandLine().getOut().flush();
                return 0;
            } catch (BallastException e) {
                throw new CliFailure(1, "ballast backup delete: " + e.getMessage());
            }
        }
    }

    @Command(name = "restore", mixinStandardHelpOptions = true, description = {
        "Write a backup into an existing volume at least as large (create it first: 'ballast volume create'); it must",
        "not be attached. Run again after an interruption, it resumes where it stopped. Every chunk is checked: a damaged",
        "one fails the restore, naming it.",
        "Example: ballast backup restore pvc-data-20261204-101500 --volume restored --target s3.properties"})
    static final class Restore implements Callable<Integer> {
        @ParentCommand BackupCommand parent;
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "ID", description = "The backup id.") String id;
        @Option(names = "--volume", required = true, description = "The volume to write into (name or id).") String volume;
        @Option(names = "--target", required = true, paramLabel = "FILE", description = "The bucket (properties file).") Path target;
        @Option(names = "--rate", paramLabel = "BYTES/S", description = "Download at most this fast (default: unpaced).") String rate;

        @Override
        public Integer call() {
            BackupTarget t = target(target);
            VolumeCommand volumes = parent.volumes();
            String volumeId = volumes.resolve(volume);
            return volumes.withAdmin(spec, DEADLINE_SECONDS, (stub, out) -> printProgress(out, "restore " + id + " into " + volume,
                    stub.restoreVolume(RestoreVolumeRequest.newBuilder().setVolume(volumeId).setTarget(t).setBackupId(id)
                            .setRateBytesPerSecond(rate == null ? 0 : ByteSize.parse(rate)).build()), "downloaded"));
        }
    }
}
