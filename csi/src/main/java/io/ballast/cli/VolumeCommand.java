package io.ballast.cli;

import io.ballast.csi.identity.BallastVersion;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.AttachVolumeResponse;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CreateVolumeRequest;
import io.ballast.proto.v1.CreateVolumeResponse;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.ListVolumesRequest;
import io.ballast.proto.v1.ListVolumesResponse;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.ReplicaIntegrity;
import io.ballast.proto.v1.ReplicaStatus;
import io.ballast.proto.v1.ScrubVolumeRequest;
import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.proto.v1.Volume;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code ballast volume ...}: manage volumes through a node's admin API. */
@Command(name = "volume",
        mixinStandardHelpOptions = true,
        versionProvider = BallastVersion.class,
        description = {"Create, attach and inspect replicated volumes.",
            "Volumes are named as you or Kubernetes named them (the CSI name) or by id. Without --admin, the cluster",
            "is asked (--cluster, else $BALLAST_CLUSTER, else ./ballast-dev/cluster) and the node where the volume",
            "is attached (else its leader's node) does the work; with --admin, that node does."},
        subcommands = {
            VolumeCommand.Create.class, VolumeCommand.Attach.class, VolumeCommand.Detach.class,
            VolumeCommand.Status.class, VolumeCommand.ListVolumes.class, VolumeCommand.Lead.class,
            ReplicaCommands.AddReplica.class, ReplicaCommands.RemoveReplica.class,
            VolumeCommand.Scrub.class, SnapshotCommands.class})
public final class VolumeCommand {

    @Option(names = "--admin", paramLabel = "HOST:PORT", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Admin API of the node to talk to (node-local views; without it, the cluster chooses).")
    String admin;

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,...]", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Admin address(es) of any of the cluster's nodes (default: $BALLAST_CLUSTER, else ./ballast-dev/cluster).")
    String cluster;

    /** The node the last {@link #resolve} chose, when --admin was not given. */
    private String chosen;
    /** The cluster as the last {@link #resolve} read it; null for a node without a catalog. */
    private ClusterConnection lastCluster;

    /**
     * The volume's id for the name or id the user gave. Without --admin, asks the cluster and chooses
     * the node to talk to: the one where it is attached, else the one leading its group, else an up
     * node holding a replica.
     * With --admin, that node maps the name if it belongs to a cluster; else the name is its group name.
     */
    String resolve(String nameOrId) {
        if (admin != null) {
            try {
                lastCluster = ClusterConnection.open(ClusterAddress.of(admin, "--admin"));
                return lastCluster.volume(nameOrId).map(CatalogVolume::getId).orElse(nameOrId);
            } catch (CliFailure e) {
                return nameOrId; // a node without a catalog, or unreachable: the call itself will say
            }
        }
        ClusterConnection c = ClusterConnection.open(ClusterAddress.resolve(cluster));
        lastCluster = c;
        CatalogVolume v = c.requireVolume(nameOrId);
        chosen = nodeFor(c, v);
        return v.getId();
    }

    /** The volume's replicas (node id and raft address) from the catalog, for an attach on a node without one. */
    List<io.ballast.proto.v1.Peer> peers(String id) {
        if (lastCluster == null) {
            return List.of();
        }
        return lastCluster.volume(id).map(v -> v.getPlacementList().stream().map(lastCluster::node)
                .flatMap(java.util.Optional::stream)
                .map(n -> io.ballast.proto.v1.Peer.newBuilder().setNodeId(n.getNodeId()).setRaftAddress(n.getRaftAddress()).build())
                .toList()).orElse(List.of());
    }

    /** The admin address of the node to ask about {@code v}: its leader's, else an up replica's. */
    private static String nodeFor(ClusterConnection c, CatalogVolume v) {
        long now = c.state().getNowMillis();
        List<CatalogNode> holders = v.getPlacementList().stream().map(c::node).flatMap(java.util.Optional::stream)
                .filter(n -> now - n.getHeartbeatMillis() < UP_WITHIN_MILLIS).toList();
        // The node serving the volume's frontend knows the most (attachment, fence, its replica's
        // view), then the leader as the last heartbeats report it, then any up replica.
        java.util.Set<String> attachedOn = new java.util.HashSet<>();
        v.getAttachmentsList().forEach(a -> attachedOn.add(a.getNodeId()));
        return holders.stream().filter(n -> attachedOn.contains(n.getNodeId())).findFirst()
                .or(() -> holders.stream().filter(n -> n.getLeadingList().contains(v.getId())).findFirst())
                .or(() -> holders.stream().findFirst())
                .map(CatalogNode::getAdminAddress)
                .orElseThrow(() -> new CliFailure(1, "no node holding a replica of " + v.getName() + " (" + v.getId()
                        + ") is up (placement " + v.getPlacementList() + "); `ballast status` shows the nodes"));
    }

    /** A node counts as up for choosing whom to ask when it sent a heartbeat within this long. */
    private static final long UP_WITHIN_MILLIS = 10_000;

    /** The node to talk to: --admin, else the one the last resolve chose, else any node of the cluster. */
    private String target() {
        if (admin != null) {
            return admin;
        }
        if (chosen == null) {
            chosen = ClusterConnection.open(ClusterAddress.resolve(cluster)).answeredAt();
        }
        return chosen;
    }

    /** Runs {@code call} against the admin API; gRPC errors print their code and message, exit 1. */
    int withAdmin(CommandSpec spec, AdminCall call) {
        return withAdmin(spec, 60, call);
    }

    /** As {@link #withAdmin(CommandSpec, AdminCall)}, waiting up to {@code deadlineSeconds} for the answer. */
    int withAdmin(CommandSpec spec, long deadlineSeconds, AdminCall call) {
        String address = target();
        ManagedChannel channel = CliTls.channel(address);
        PrintWriter out = spec.commandLine().getOut();
        try {
            call.run(NodeAdminGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS), out);
            out.flush();
            return 0;
        } catch (StatusRuntimeException e) {
            boolean unreachable = e.getStatus().getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED
                    || (e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
                        && (e.getStatus().getDescription() == null || e.getStatus().getDescription().startsWith("io exception")));
            if (unreachable) {
                spec.commandLine().getErr().println(spec.qualifiedName() + ": cannot reach the node at " + address + ": "
                        + ClusterConnection.describe(e) + "; check that a Ballast node runs there and that this is its admin address");
                return CliFailure.UNREACHABLE;
            }
            spec.commandLine().getErr().println(spec.qualifiedName() + ": " + e.getStatus().getCode() + ": "
                    + (e.getStatus().getDescription() != null ? e.getStatus().getDescription() : "node at " + address + " did not answer"));
            return 1;
        } finally {
            channel.shutdownNow();
        }
    }

    interface AdminCall {
        void run(NodeAdminGrpc.NodeAdminBlockingStub stub, PrintWriter out);
    }

    static void print(PrintWriter out, Volume v) {
        out.printf("%s  size=%s  leader=%s  attached=%s%s%n", v.getName(),
                v.getSizeBytes() > 0 ? ByteSize.format(v.getSizeBytes()) : "?",
                v.getLeaderNodeId().isEmpty() ? "none" : v.getLeaderNodeId(),
                v.getAttachedNodeId().isEmpty() ? "-" : v.getAttachedNodeId(),
                v.getFencedNodeId().isEmpty() ? "" : "  fenced=" + v.getFencedNodeId()
                        + " (attached elsewhere since; its requests fail: detach it, or attach there again)");
        if (v.getMembersCount() > 0) {
            out.printf("  members %s%n", String.join(" ", v.getMembersList().stream()
                    .map(p -> p.getNodeId() + "=" + p.getRaftAddress()).toList()));
        }
        for (ReplicaStatus r : v.getReplicaStatusList()) {
            out.printf("  replica %s  %s  commit=%d applied=%d%s%n", r.getNodeId(), r.getRole(), r.getCommitIndex(), r.getAppliedIndex(),
                    r.getRebuildBytesTotal() == 0 ? "" : "  rebuild=" + ByteSize.format(r.getRebuildBytesDone())
                            + "/" + ByteSize.format(r.getRebuildBytesTotal()));
        }
        if (v.hasClone()) {
            out.printf("  clone of %s@%s  %s%n", v.getClone().getSource().getVolume(), v.getClone().getSource().getSnapshotId(),
                    v.getClone().getFilled() ? "filled" : "fill " + ByteSize.format(v.getClone().getBytesDone()) + "/"
                            + ByteSize.format(v.getClone().getBytesTotal()) + " (not finished: repeat the create)");
        }
        if (v.hasIntegrity()) {
            ReplicaIntegrity i = v.getIntegrity();
            out.printf("  integrity: %s  corrupt=%d repaired=%d unrepairable=%d  scrub=%s%n", i.getCondition(),
                    i.getCorruptBlocksFound(), i.getBlocksRepaired(), i.getUnrepairableFound(), scrubState(i));
        }
    }

    /** This process's passes (running, done, stopped) and when the last full pass ended, which a restart keeps. */
    private static String scrubState(ReplicaIntegrity i) {
        String finished = i.getLastScrubCompletedUnixMs() == 0 ? ""
                : "finished " + java.time.Instant.ofEpochMilli(i.getLastScrubCompletedUnixMs()).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        if (i.getScrubBytesTotal() == 0) {
            return finished.isEmpty() ? "never" : "last " + finished;
        }
        String progress = ByteSize.format(i.getScrubBytesDone()) + "/" + ByteSize.format(i.getScrubBytesTotal());
        String state = i.getScrubRunning() ? "running " + progress
                : i.getScrubsCompleted() == 0 ? "stopped at " + progress
                : "done " + i.getScrubsCompleted() + "x, last " + progress;
        return finished.isEmpty() ? state : state + (i.getScrubRunning() ? ", last " : ", ") + finished;
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = {
        "Create a volume's replica group on the given nodes (default: one replica on the --admin node).",
        "With --from-snapshot, the volume is a clone holding the snapshot's data: the --admin node must be one of the",
        "replicas and hold a ready copy of the snapshot ('ballast volume snapshot list'); the command returns once the",
        "data is copied (progress: 'ballast volume status'). Repeat it to finish a clone whose copy was interrupted.",
        "Example: ballast volume create --name vol1 --size 4G --replica n1=127.0.0.1:7101 --replica n2=127.0.0.1:7102 --replica n3=127.0.0.1:7103",
        "Example: ballast volume create --name vol2 --size 4G --from-snapshot vol1@before-upgrade --replica n1=127.0.0.1:7101 ..."})
    static final class Create implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true, description = "Volume name.") String name;
        @Option(names = "--size", required = true, description = "Size, e.g. 4G.") String size;
        @Option(names = "--replica", paramLabel = "NODE=HOST:PORT", description = "A replica: node id and its raft address. Repeatable.")
        List<String> replicas = new ArrayList<>();
        @Option(names = "--from-snapshot", paramLabel = "VOLUME@SNAPSHOT",
                description = "Create the volume as a clone of this snapshot (size at least the snapshot's).")
        String fromSnapshot;

        @Override
        public Integer call() {
            long bytes;
            try {
                bytes = ByteSize.parse(size);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--size: " + e.getMessage());
            }
            CreateVolumeRequest.Builder req = CreateVolumeRequest.newBuilder().setName(name).setSizeBytes(bytes);
            for (String r : replicas) {
                req.addPeers(ReplicaCommands.parse(spec, r, true));
            }
            if (fromSnapshot != null) {
                req.setSource(SnapshotCommands.parseSource(spec, fromSnapshot));
            }
            return parent.withAdmin(spec, fromSnapshot == null ? 60 : SnapshotCommands.CREATE_DEADLINE_SECONDS, (stub, out) -> {
                CreateVolumeResponse resp = stub.createVolume(req.build());
                out.println((resp.getCreated() ? "created " : "exists ") + name);
            });
        }
    }

    @Command(name = "attach", mixinStandardHelpOptions = true,
            description = {"Attach the volume on the --admin node (fences the previous frontend) and print its NBD URI.",
                "On a node of a cluster that holds no replica of it, the volume is attached diskless: reads and writes go to its leader.",
                "With --shared, several nodes may write at once (live migration of a VM): each read sees every write",
                "acknowledged on any of them before it; only an attach without --shared fences them."})
    static final class Attach implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true) String name;
        @Option(names = "--replica", paramLabel = "NODE=HOST:PORT",
                description = "The volume's replicas, when no catalog knows them (a node without one attaches diskless). Repeatable.")
        List<String> replicas = new ArrayList<>();
        @Option(names = "--shared", description = "Attach as one of several writers, fencing no other shared attachment.")
        boolean shared;

        @Override
        public Integer call() {
            String id = parent.resolve(name);
            return parent.withAdmin(spec, (stub, out) -> {
                // With the replicas named, a node holding none of them attaches as a diskless frontend.
                AttachVolumeResponse r = stub.attachVolume(AttachVolumeRequest.newBuilder().setName(id)
                        .addAllPeers(replicas.isEmpty() ? parent.peers(id)
                                : replicas.stream().map(rep -> ReplicaCommands.parse(spec, rep, true)).toList())
                        .setShared(shared).build());
                out.println(r.getNbdUri());
            });
        }
    }

    @Command(name = "detach", mixinStandardHelpOptions = true, description = "Stop serving the volume on the --admin node.")
    static final class Detach implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true) String name;

        @Override
        public Integer call() {
            String id = parent.resolve(name);
            return parent.withAdmin(spec, (stub, out) -> {
                stub.detachVolume(DetachVolumeRequest.newBuilder().setName(id).build());
                out.println("detached " + name);
            });
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Show a volume as the node where it is attached (else its leader's node, or the --admin node) sees it.")
    static final class Status implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", description = "The volume's name or id (or give it as the argument).") String name;
        @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "The volume's name or id.") String positional;

        @Override
        public Integer call() {
            String given = name != null ? name : positional;
            if (given == null) {
                throw new ParameterException(spec.commandLine(), "which volume? give its name (or id) as the argument or with --name");
            }
            String id = parent.resolve(given);
            return parent.withAdmin(spec, (stub, out) ->
                    print(out, stub.getVolume(GetVolumeRequest.newBuilder().setName(id).build()).getVolume()));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List every volume of the cluster; with --admin, those with a replica on that node.")
    static final class ListVolumes implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;

        @Override
        public Integer call() {
            if (parent.admin == null) {
                ClusterConnection c = ClusterConnection.open(ClusterAddress.resolve(parent.cluster));
                var out = spec.commandLine().getOut();
                for (CatalogVolume v : c.state().getState().getVolumesList()) {
                    out.printf("%s  id=%s  size=%s  replicas=%d (%s)  attached=%s%n", v.getName(), v.getId(),
                            ByteSize.format(v.getSizeBytes()), v.getReplicas(), String.join(" ", v.getPlacementList()),
                            v.getAttachmentsCount() == 0 ? "-" : String.join(" ",
                                    v.getAttachmentsList().stream().map(a -> a.getNodeId()).toList()));
                }
                if (c.state().getState().getVolumesCount() == 0) {
                    out.println("no volumes");
                }
                out.flush();
                return 0;
            }
            return parent.withAdmin(spec, (stub, out) -> {
                String token = "";
                do {
                    ListVolumesResponse r = stub.listVolumes(ListVolumesRequest.newBuilder().setPageToken(token).build());
                    r.getVolumesList().forEach(v -> print(out, v));
                    token = r.getNextPageToken();
                } while (!token.isEmpty());
            });
        }
    }

    @Command(name = "lead", mixinStandardHelpOptions = true, description = {"Move the volume's Raft leadership to a node.",
        "While the volume is attached on another node that holds a replica, that node takes the leadership back after its "
                + "--leader-homing-delay (default 30 s); drain a node to keep leaderships off it."})
    static final class Lead implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true) String name;
        @Option(names = "--to", required = true, paramLabel = "NODE") String target;

        @Override
        public Integer call() {
            String id = parent.resolve(name);
            return parent.withAdmin(spec, (stub, out) -> {
                stub.transferLeadership(TransferLeadershipRequest.newBuilder().setName(id).setTargetNodeId(target).build());
                out.println("leadership of " + name + " moved to " + target);
            });
        }
    }

    @Command(name = "scrub", mixinStandardHelpOptions = true, description = {
        "Verify every block of the --admin node's replica and repair bad ones from a healthy replica.",
        "Waits until the scrub is done (printing progress every 5 s), then prints what it found. The node's counters and condition stay visible in 'ballast volume status'.",
        "Exit status: 0 when the replica is healthy afterwards, 2 when blocks are left unrepairable, 1 on errors."})
    static final class Scrub implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true, description = "Volume name.") String name;
        @Option(names = "--no-wait", description = "Start the scrub and return at once.") boolean noWait;

        @Override
        public Integer call() {
            int[] exit = {0};
            String id = parent.resolve(name);
            int rpc = parent.withAdmin(spec, (stub, out) -> {
                GetVolumeRequest get = GetVolumeRequest.newBuilder().setName(id).build();
                ReplicaIntegrity before = stub.getVolume(get).getVolume().getIntegrity();
                ReplicaIntegrity now = stub.scrubVolume(ScrubVolumeRequest.newBuilder().setName(id).build())
                        .getVolume().getIntegrity();
                if (noWait) {
                    out.println("scrub of " + name + " started");
                    return;
                }
                long lastPrint = System.nanoTime();
                while (now.getScrubRunning()) {
                    sleep(200);
                    // a fresh deadline per poll: the stub's own 60 s would end a long scrub's wait
                    now = stub.withDeadlineAfter(30, TimeUnit.SECONDS).getVolume(get).getVolume().getIntegrity();
                    if (System.nanoTime() - lastPrint > TimeUnit.SECONDS.toNanos(5)) {
                        out.println("  " + scrubState(now));
                        out.flush();
                        lastPrint = System.nanoTime();
                    }
                }
                if (now.getScrubsCompleted() <= before.getScrubsCompleted()) {
                    spec.commandLine().getErr().println("ballast volume: scrub of " + name
                            + " stopped before the end; the node's log says why");
                    exit[0] = 1;
                    return;
                }
                out.printf("scrubbed %s: %s verified, %d corrupt blocks, %d repaired, %d unrepairable; %s%n", name,
                        ByteSize.format(now.getScrubBytesDone()),
                        now.getCorruptBlocksFound() - before.getCorruptBlocksFound(),
                        now.getBlocksRepaired() - before.getBlocksRepaired(),
                        now.getUnrepairableFound() - before.getUnrepairableFound(), now.getCondition());
                exit[0] = now.getUnrepairableBlocks() == 0 ? 0 : 2;
            });
            return rpc != 0 ? rpc : exit[0];
        }

        private static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the scrub", e);
            }
        }
    }
}
