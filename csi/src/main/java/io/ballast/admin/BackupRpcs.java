package io.ballast.admin;

import io.ballast.backup.BackupBucket;
import io.ballast.backup.BackupProgressListener;
import io.ballast.backup.BackupRepository;
import io.ballast.backup.BackupRestorer;
import io.ballast.backup.BackupTargets;
import io.ballast.backup.BackupWriter;
import io.ballast.csi.GrpcErrors;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.proto.v1.BackupProgress;
import io.ballast.proto.v1.BackupVolumeRequest;
import io.ballast.proto.v1.RestoreVolumeRequest;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.volumes.ReplicatedVolumes;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's BackupVolume and RestoreVolume: long operations on a virtual thread of their
 * own, streaming progress (at most twice a second) and ending with a done message or an error;
 * a caller that goes away cancels them. A restore records where it got to in
 * {@code DIR/run/restores/VOLUME.progress} after every flush, so the same restore run again
 * resumes there.
 */
final class BackupRpcs {
    private static final Logger LOG = LoggerFactory.getLogger(BackupRpcs.class);
    private static final long PROGRESS_EVERY_NANOS = 500_000_000L;

    private final ReplicatedVolumes volumes;
    private final Path restores;

    BackupRpcs(ReplicatedVolumes volumes, Path dataDir) {
        this.volumes = volumes;
        this.restores = dataDir.resolve("run").resolve("restores");
    }

    void backup(BackupVolumeRequest r, StreamObserver<BackupProgress> out) {
        String subject = r.getVolume() + "@" + r.getSnapshotId() + " -> " + r.getBackupId();
        run("BackupVolume", subject, out, progress -> {
            AdminArguments.checkName(r.getVolume());
            AdminArguments.checkSnapshotId(r.getSnapshotId());
            BackupRepository.checkId(r.getBackupId());
            if (!r.getBaseBackupId().isEmpty()) {
                BackupRepository.checkId(r.getBaseBackupId());
            }
            requireReplica(r.getVolume());
            try (BackupBucket bucket = new BackupBucket(BackupTargets.check(r.getTarget(), "target"));
                    SnapshotReader snapshot = volumes.snapshots().open(r.getVolume(), r.getSnapshotId(), "backup " + r.getBackupId())) {
                BackupRepository repo = new BackupRepository(bucket);
                Optional<BackupManifest> existing = repo.get(r.getBackupId());
                if (existing.isPresent()) {
                    if (existing.get().getSnapshotId().equals(r.getSnapshotId())) {
                        return existing.get(); // done before: the same answer
                    }
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "backup " + r.getBackupId() + " exists in "
                            + bucket.describe() + " (of snapshot " + existing.get().getSnapshotId() + "); choose another id");
                }
                BackupManifest base = r.getBaseBackupId().isEmpty() ? null : repo.require(r.getBaseBackupId());
                SnapshotReader baseSnapshot = base == null ? null : openQuietly(r.getVolume(), base.getSnapshotId(), "backup " + r.getBackupId() + ", its base");
                try {
                    if (base != null && baseSnapshot == null) {
                        LOG.info("backup {}: the snapshot {} of base backup {} is not on this node: every chunk is read and "
                                + "hashed (only new ones are uploaded)", r.getBackupId(), base.getSnapshotId(), base.getBackupId());
                    }
                    return new BackupWriter(repo, r.getRateBytesPerSecond(), progress).write(r.getBackupId(), r.getVolume(),
                            snapshot, r.getChunkBytes(), base, baseSnapshot, System.currentTimeMillis());
                } finally {
                    if (baseSnapshot != null) {
                        baseSnapshot.close();
                    }
                }
            }
        });
    }

    void restore(RestoreVolumeRequest r, StreamObserver<BackupProgress> out) {
        run("RestoreVolume", r.getBackupId() + " -> " + r.getVolume(), out, progress -> {
            AdminArguments.checkName(r.getVolume());
            BackupRepository.checkId(r.getBackupId());
            requireReplica(r.getVolume());
            try (BackupBucket bucket = new BackupBucket(BackupTargets.check(r.getTarget(), "target"))) {
                BackupRepository repo = new BackupRepository(bucket);
                BackupManifest m = repo.require(r.getBackupId());
                if (volumes.attachedVolume(r.getVolume()) != null) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + r.getVolume() + " is attached on "
                            + "this node: a restore overwrites it; detach it first");
                }
                Path mark = restores.resolve(r.getVolume() + ".progress");
                int from = resumePoint(mark, r.getBackupId());
                if (from > 0) {
                    LOG.info("restore of {} into {}: resuming at chunk {} of {}", r.getBackupId(), r.getVolume(), from,
                            m.getChunksCount());
                }
                ReplicatedBlockVolume v = volumes.attach(r.getVolume());
                try {
                    new BackupRestorer(repo, r.getRateBytesPerSecond(), progress).restore(m, v, from,
                            next -> record(mark, r.getBackupId(), next));
                } finally {
                    volumes.detach(r.getVolume());
                }
                Files.deleteIfExists(mark);
                return m;
            }
        });
    }

    private void requireReplica(String volume) {
        if (!volumes.hostsReplica(volume)) {
            throw new BallastException(ErrorCode.NOT_FOUND, "no replica of volume " + volume + " on this node");
        }
    }

    private SnapshotReader openQuietly(String volume, String snapshot, String reader) {
        try {
            return volumes.snapshots().open(volume, snapshot, reader);
        } catch (BallastException e) {
            return null;
        }
    }

    private static int resumePoint(Path mark, String backupId) throws IOException {
        if (!Files.exists(mark)) {
            return 0;
        }
        String[] parts = Files.readString(mark).strip().split(" ");
        return parts.length == 2 && parts[0].equals(backupId) ? Integer.parseInt(parts[1]) : 0;
    }

    private void record(Path mark, String backupId, int next) {
        try {
            Files.createDirectories(mark.getParent());
            Path tmp = mark.resolveSibling(mark.getFileName() + ".tmp");
            Files.writeString(tmp, backupId + " " + next + "\n");
            Files.move(tmp, mark, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("restore of {}: cannot record progress in {} ({}); an interrupted restore would start over",
                    backupId, mark, e.getMessage());
        }
    }

    @FunctionalInterface
    private interface Body {
        BackupManifest run(BackupProgressListener progress) throws Exception;
    }

    /** Runs {@code body} off the gRPC thread, streaming its progress; cancelled when the caller goes. */
    private static void run(String rpc, String subject, StreamObserver<BackupProgress> out, Body body) {
        Thread worker = Thread.ofVirtual().name(rpc + " " + subject).unstarted(() -> {
            long[] last = {0};
            long[] transferred = {0};
            BackupProgressListener progress = (done, total, moved) -> {
                transferred[0] = moved;
                long now = System.nanoTime();
                if (now - last[0] >= PROGRESS_EVERY_NANOS) {
                    last[0] = now;
                    synchronized (out) {
                        out.onNext(BackupProgress.newBuilder().setBytesDone(done).setBytesTotal(total)
                                .setTransferredBytes(moved).build());
                    }
                }
            };
            try {
                BackupManifest m = body.run(progress);
                LOG.info("{}({}) ok: {} bytes, {} bytes transferred", rpc, subject, m.getSizeBytes(), transferred[0]);
                synchronized (out) {
                    out.onNext(BackupProgress.newBuilder().setBytesDone(m.getSizeBytes()).setBytesTotal(m.getSizeBytes())
                            .setTransferredBytes(transferred[0]).setDone(true).setManifest(m).build());
                    out.onCompleted();
                }
            } catch (InterruptedException e) {
                LOG.info("{}({}) cancelled by its caller", rpc, subject);
            } catch (Exception e) {
                var status = GrpcErrors.toStatus(e);
                LOG.info("{}({}) -> {}: {}", rpc, subject, status.getStatus().getCode(), status.getStatus().getDescription());
                synchronized (out) {
                    out.onError(status);
                }
            }
        });
        if (out instanceof ServerCallStreamObserver<BackupProgress> server) {
            server.setOnCancelHandler(worker::interrupt);
        }
        worker.start();
    }
}
