package io.ballast.cli;

import io.ballast.proto.v1.CreateSnapshotRequest;
import io.ballast.proto.v1.CreateSnapshotResponse;
import io.ballast.proto.v1.DeleteSnapshotRequest;
import io.ballast.proto.v1.ListSnapshotsRequest;
import io.ballast.proto.v1.Snapshot;
import io.ballast.proto.v1.SnapshotSource;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code ballast volume snapshot create|delete|list}: point-in-time snapshots of a volume. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = {"Take, delete and list crash-consistent point-in-time snapshots of a volume.",
            "Every replica keeps its own copy; clone one with 'ballast volume create --from-snapshot VOLUME@SNAPSHOT'."},
        subcommands = {SnapshotCommands.Create.class, SnapshotCommands.Delete.class, SnapshotCommands.ListSnapshots.class})
final class SnapshotCommands {
    /** A snapshot copies the volume on every replica (writes pause meanwhile); give large volumes time. */
    static final long CREATE_DEADLINE_SECONDS = 11 * 60;

    @ParentCommand VolumeCommand volume;

    /** Parses {@code VOLUME@SNAPSHOT} (the --from-snapshot of volume create). */
    static SnapshotSource parseSource(CommandSpec spec, String text) {
        int at = text.indexOf('@');
        if (at <= 0 || at == text.length() - 1 || text.indexOf('@', at + 1) >= 0) {
            throw new ParameterException(spec.commandLine(), "--from-snapshot '" + text
                    + "': expected VOLUME@SNAPSHOT, e.g. vol1@before-upgrade");
        }
        return SnapshotSource.newBuilder().setVolume(text.substring(0, at)).setSnapshotId(text.substring(at + 1)).build();
    }

    static void print(PrintWriter out, Snapshot s) {
        out.printf("%s@%s  size=%s  created=%s  index=%d  on %s: %s%n", s.getVolume(), s.getId(),
                ByteSize.format(s.getSizeBytes()), Instant.ofEpochSecond(s.getCreateTime().getSeconds(),
                        s.getCreateTime().getNanos()), s.getLogIndex(), s.getNodeId(),
                s.getReady() ? "ready" : "not ready (" + s.getNote() + ")");
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = {
        "Take snapshot ID of the volume on every replica: the volume as of one point in its log (crash-consistent).",
        "Writes pause while each replica copies (a reflink on xfs/btrfs, a sparse copy of the written data on ext4).",
        "Repeating it with an existing ID prints the existing snapshot.",
        "Example: ballast volume snapshot create --admin 127.0.0.1:7001 --name vol1 --id before-upgrade"})
    static final class Create implements Callable<Integer> {
        @ParentCommand SnapshotCommands parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true, description = "Volume name.") String name;
        @Option(names = "--id", required = true, description = "Snapshot id: 1-128 characters [a-zA-Z0-9._-].") String id;

        @Override
        public Integer call() {
            String volumeId = parent.volume.resolve(name);
            return parent.volume.withAdmin(spec, CREATE_DEADLINE_SECONDS, (stub, out) -> {
                CreateSnapshotResponse r = stub.createSnapshot(CreateSnapshotRequest.newBuilder().setVolume(volumeId)
                        .setSnapshotId(id).build());
                out.println((r.getCreated() ? "created " : "exists ") + name + "@" + id);
                print(out, r.getSnapshot());
            });
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = {
        "Delete snapshot ID of the volume on every replica. Deleting an absent snapshot succeeds.",
        "Example: ballast volume snapshot delete --admin 127.0.0.1:7001 --name vol1 --id before-upgrade"})
    static final class Delete implements Callable<Integer> {
        @ParentCommand SnapshotCommands parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true, description = "Volume name.") String name;
        @Option(names = "--id", required = true, description = "Snapshot id.") String id;

        @Override
        public Integer call() {
            String volumeId = parent.volume.resolve(name);
            return parent.volume.withAdmin(spec, (stub, out) -> {
                stub.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setVolume(volumeId).setSnapshotId(id).build());
                out.println("deleted " + name + "@" + id);
            });
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = {
        "List the volume's snapshots as the --admin node's replica holds them: 'ready' when it has a complete copy,",
        "else why not (e.g. the replica was rebuilt by block copy after the snapshot and is still fetching its copy from "
                + "a peer). Ask each replica's node to see which replicas hold a snapshot."})
    static final class ListSnapshots implements Callable<Integer> {
        @ParentCommand SnapshotCommands parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true, description = "Volume name.") String name;

        @Override
        public Integer call() {
            String volumeId = parent.volume.resolve(name);
            return parent.volume.withAdmin(spec, (stub, out) -> stub.listSnapshots(
                    ListSnapshotsRequest.newBuilder().setVolume(volumeId).build()).getSnapshotsList().forEach(s -> print(out, s)));
        }
    }
}
