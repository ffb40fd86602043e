package io.ballast.tests.harness;


import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.replication.testing.Await;
import io.ballast.replication.testing.FreePorts;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * N {@code ballast node} processes with replication on loopback, each with its own data dir,
 * raft and admin ports, plus the CLI verbs tests use ({@link #cli}). Fault tests read like
 * scripts: {@code cluster.node(1).kill9(); cluster.node(1).start();}.
 */
public final class ReplicatedCluster implements NodeCluster {
    private final List<BallastNodeProcess> nodes = new ArrayList<>();
    private final List<Integer> raftPorts = new ArrayList<>();
    private final List<Integer> adminPorts = new ArrayList<>();
    private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();
    private final java.util.Map<Integer, ManagedChannel> adminChannels = new java.util.concurrent.ConcurrentHashMap<>();

    public ReplicatedCluster(Path dir, int size) {
        this(dir, size, 0, false);
    }

    /**
     * A cluster whose first {@code catalogMembers} nodes host the catalog; every node is given
     * the member list (it heartbeats to the catalog) and the label {@code zone=z<i % 2>}.
     */
    public ReplicatedCluster(Path dir, int size, int catalogMembers) {
        this(dir, size, catalogMembers, false);
    }

    /**
     * As {@link #ReplicatedCluster(Path, int, int)}; with {@code csiNodes} every node also serves the
     * CSI Identity + Node services on {@link #csiSocket(int)}.
     */
    public ReplicatedCluster(Path dir, int size, int catalogMembers, boolean csiNodes) {
        this.dir = dir;
        this.catalogMembers = catalogMembers;
        for (int i = 0; i < size; i++) {
            raftPorts.add(FreePorts.next());
            adminPorts.add(FreePorts.next());
        }
        for (int i = 0; i < size; i++) {
            List<String> args = new ArrayList<>(List.of("--node-id", nodeId(i), "--cluster-id", CLUSTER_ID,
                    "--raft-listen", raftAddress(i), "--admin-listen", admin(i)));
            if (catalogMembers > 0) {
                args.addAll(List.of("--catalog", catalogArg(catalogMembers), "--label", "zone=z" + (i % 2)));
                metricsPorts.add(FreePorts.next());
                args.addAll(List.of("--metrics-listen", "127.0.0.1:" + metricsPorts.get(i)));
            }
            if (csiNodes) {
                args.addAll(List.of("--csi-endpoint", "unix://" + csiSocket(i)));
            }
            nodes.add(new BallastNodeProcess(nodeId(i), dir.resolve(nodeId(i)), args));
        }
    }

    public static final String CLUSTER_ID = "test";
    private final List<Integer> metricsPorts = new ArrayList<>();

    /** Node i's Prometheus endpoint (clusters with a catalog serve metrics). */
    public String metricsUrl(int i) {
        return "http://127.0.0.1:" + metricsPorts.get(i) + "/metrics";
    }

    /** GET of a Prometheus endpoint: the text exposition. */
    public static String scrape(String url) {
        try (var client = java.net.http.HttpClient.newHttpClient()) {
            var r = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new AssertionError(url + " answered " + r.statusCode());
            }
            return r.body();
        } catch (java.io.IOException e) {
            throw new AssertionError("cannot scrape " + url + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The value of one series ({@code name{labels}}) in a Prometheus text exposition, if it has a sample line. */
    public static java.util.OptionalDouble sample(String exposition, String series) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith(series + " ")) {
                return java.util.OptionalDouble.of(Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]));
            }
        }
        return java.util.OptionalDouble.empty();
    }

    private Path dir;
    private final int catalogMembers;

    /** The unix socket of node i's CSI Node service (when started with CSI). */
    public Path csiSocket(int i) {
        return dir.resolve(nodeId(i) + "-csi.sock");
    }

    /** {@code n1=HOST:PORT,n2=...} of the first {@code members} nodes, as {@code --catalog} takes it. */
    public String catalogArg(int members) {
        List<String> m = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            m.add(replica(i));
        }
        return String.join(",", m);
    }

    private io.ballast.replication.tls.TlsMaterial clientTls;

    /**
     * The certificate directory ({@code ballast certs issue}) the test's own admin calls present,
     * for a cluster whose nodes run with {@code --tls-dir}.
     */
    public ReplicatedCluster clientTls(Path certificateDir) {
        clientTls = io.ballast.replication.tls.TlsMaterial.of(io.ballast.replication.tls.TlsDir.of(certificateDir), null);
        return this;
    }

    /** JVM options for every node from its next start on (e.g. a test-only switch). */
    public ReplicatedCluster jvmArgs(String... args) {
        nodes.forEach(n -> n.jvmArgs(args));
        return this;
    }

    /**
     * Starts every node; in a cluster with a catalog, the nodes beyond its members are then admitted
     * (as an operator would with {@code ballast node admit}): the catalog admits only its members.
     */
    public ReplicatedCluster start() {
        startNodes();
        if (catalogMembers > 0) {
            for (int i = catalogMembers; i < size(); i++) {
                admit(nodeId(i));
            }
        }
        return this;
    }

    /** Starts every node at once (after {@link #start()}: a restart of the whole cluster). */
    public void startNodes() {
        BallastNodeProcess.startAll(nodes);
    }

    /** Admits node {@code nodeId} to the catalog through node 1 (retried while the catalog elects its leader). */
    public void admit(String nodeId) {
        RuntimeException[] last = {null};
        try {
            Await.await(() -> {
                try {
                    adminStub(0).admitNode(io.ballast.proto.v1.AdmitNodeRequest.newBuilder().setNodeId(nodeId).build());
                    return true;
                } catch (RuntimeException e) {
                    last[0] = e;
                    return false;
                }
            }, 60, "node " + nodeId + " admitted");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": " + last[0], last[0]);
        }
    }

    public static String nodeId(int i) {
        return "n" + (i + 1);
    }

    @Override
    public BallastNodeProcess node(int i) {
        return nodes.get(i);
    }

    @Override
    public int size() {
        return nodes.size();
    }

    public String admin(int i) {
        return "127.0.0.1:" + adminPorts.get(i);
    }

    /** Raft address (host:port) of node i. */
    public String raftAddress(int i) {
        return "127.0.0.1:" + raftPorts.get(i);
    }

    /** {@code NODE=HOST:PORT} of node i, as {@code --replica} takes it. */
    public String replica(int i) {
        return nodeId(i) + "=" + raftAddress(i);
    }

    /** {@code --replica} arguments naming the given nodes. */
    public List<String> replicaArgs(int... ids) {
        List<String> args = new ArrayList<>();
        for (int i : ids) {
            args.add("--replica");
            args.add(replica(i));
        }
        return args;
    }

    /** {@code --replica} arguments naming every node of the cluster. */
    public List<String> replicaArgs() {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            args.add("--replica");
            args.add(nodeId(i) + "=127.0.0.1:" + raftPorts.get(i));
        }
        return args;
    }

    /**
     * A blocking stub of node i's admin API with a 30 s deadline, on a fresh channel (so a node
     * restarted a moment ago is reached without a stale channel's reconnect backoff); every
     * channel is shut down with the cluster.
     */
    @Override
    public NodeAdminGrpc.NodeAdminBlockingStub adminStub(int i) {
        // One channel per node: it reconnects by itself after the node restarts on the same port.
        ManagedChannel ch = adminChannels.computeIfAbsent(i, n -> {
            ManagedChannel c = clientTls == null ? ManagedChannelBuilder.forTarget(admin(n)).usePlaintext().build()
                    : io.ballast.tls.GrpcTls.channel(admin(n), clientTls);
            channels.add(c);
            return c;
        });
        return NodeAdminGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /**
     * Waits until every replica of {@code volume} applied everything any of them knows committed
     * ({@link #awaitConverged}: waiting for a follower's commit index once stopped n1 before it
     * applied fio's last six writes in ReplicatedFailoverIT), stops every node cleanly and compares
     * the replicas' data files byte for byte (cmp).
     */
    public void assertReplicasIdentical(String volume) {
        awaitConverged(volume, 60);
        BallastNodeProcess.stopAllCleanly(nodes);
        Path first = dir.resolve(nodeId(0)).resolve("volumes").resolve(volume).resolve("data");
        for (int i = 1; i < size(); i++) {
            Path other = dir.resolve(nodeId(i)).resolve("volumes").resolve(volume).resolve("data");
            ExternalTool.Result cmp = ExternalTool.run(120, "cmp", first.toString(), other.toString());
            if (cmp.exitCode() != 0) {
                throw new AssertionError("replica " + nodeId(i) + " of " + volume + " differs from " + nodeId(0) + ": "
                        + cmp.stdout() + cmp.stderr());
            }
        }
    }

    /**
     * Waits until node {@code i}'s replica of {@code volume} has seen {@code entries} more entries
     * committed than now: the writes a test runs are getting through (instead of sleeping and
     * hoping they did).
     */
    public void awaitCommits(String volume, int i, long entries, int seconds, String what) {
        long from = replica(volume, i).getCommitIndex();
        Await.await(() -> replica(volume, i).getCommitIndex() >= from + entries, seconds,
                what + " (" + entries + " entries committed on " + nodeId(i) + " after index " + from + ")");
    }

    /** The catalog as the first running node that answers sees it (clusters with a catalog). */
    public io.ballast.proto.v1.CatalogState catalogState() {
        RuntimeException last = null;
        for (int i = 0; i < size(); i++) {
            if (!node(i).isAlive()) {
                continue;
            }
            try {
                return adminStub(i).getClusterState(io.ballast.proto.v1.GetClusterStateRequest.getDefaultInstance()).getState();
            } catch (RuntimeException e) {
                last = e;
            }
        }
        throw new AssertionError("no node answered with the catalog", last);
    }

    /**
     * The nodes the catalog places volume {@code volumeId}'s replicas on, in placement order (the
     * first is the preferred one). A CSI volume's accessible topology no longer names them: every
     * node can attach every volume.
     */
    public List<String> placement(String volumeId) {
        return catalogState().getVolumesList().stream().filter(v -> v.getId().equals(volumeId)).findFirst()
                .map(v -> List.copyOf(v.getPlacementList()))
                .orElseThrow(() -> new AssertionError("the catalog knows no volume " + volumeId));
    }

    /** Runs {@code ballast volume <verb> --admin <node i> args...} and returns its result. */
    public ExternalTool.Result cli(int i, String verb, String... args) {
        List<String> cmd = new ArrayList<>(List.of("volume", verb, "--admin", admin(i)));
        cmd.addAll(List.of(args));
        return ExternalTool.run(120, BallastNodeProcess.command(cmd.toArray(String[]::new)));
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        nodes.forEach(BallastNodeProcess::close);
    }
}
