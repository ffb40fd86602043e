package io.ballast.tests.net;

import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.CreateVolumeRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.Peer;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.NodeCluster;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Ballast nodes, one per host of a {@link NetworkLab}, so a test can partition them for real.
 * Each node's admin API is reached through a {@link HostPortForward} (a Unix socket in the test's
 * directory), so even an isolated node can be queried; NBD sockets are Unix sockets on the shared
 * filesystem. Node {@code i} is {@code n<i+1>}, listening on its host's address.
 */
public final class LabCluster implements NodeCluster {
    public static final int RAFT_PORT = 33001;
    public static final int ADMIN_PORT = 33002;

    private final Path dir;
    private final NetworkLab lab;
    private final List<BallastNodeProcess> nodes = new ArrayList<>();
    private final List<HostPortForward> forwards = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    private LabCluster(Path dir, NetworkLab lab) {
        this.dir = dir;
        this.lab = lab;
    }

    /** Starts {@code size} nodes in a new lab; {@code jvmArgs} go to every node's JVM. */
    public static LabCluster start(Path dir, int size, String clusterId, String... jvmArgs) throws Exception {
        LabCluster c = new LabCluster(dir, NetworkLab.create(size));
        try {
            c.startNodes(clusterId, jvmArgs);
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    private void startNodes(String clusterId, String... jvmArgs) throws Exception {
        int size = lab.size();
        for (int i = 0; i < size; i++) {
            String ip = lab.host(i).address();
            nodes.add(new BallastNodeProcess(id(i), dir.resolve(id(i)), List.of("--node-id", id(i), "--cluster-id",
                    clusterId, "--raft-listen", ip + ":" + RAFT_PORT, "--admin-listen", ip + ":" + ADMIN_PORT),
                    lab.hostPrefix(i)).jvmArgs(jvmArgs));
        }
        List<CompletableFuture<?>> starting = new ArrayList<>();
        List<CompletableFuture<HostPortForward>> fwd = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            int host = i;
            starting.add(CompletableFuture.runAsync(() -> nodes.get(host).start()));
            fwd.add(CompletableFuture.supplyAsync(() -> HostPortForward.open(lab, host,
                    dir.resolve(id(host) + "-admin.sock"), lab.host(host).address(), ADMIN_PORT)));
        }
        for (CompletableFuture<HostPortForward> f : fwd) {
            forwards.add(f.get(60, TimeUnit.SECONDS));
        }
        for (CompletableFuture<?> s : starting) {
            s.get(60, TimeUnit.SECONDS);
        }
        for (HostPortForward f : forwards) {
            channels.add(ManagedChannelBuilder.forTarget(f.address()).usePlaintext().build());
        }
    }

    public static String id(int i) {
        return "n" + (i + 1);
    }

    public NetworkLab lab() {
        return lab;
    }

    @Override
    public int size() {
        return nodes.size();
    }

    @Override
    public BallastNodeProcess node(int i) {
        return nodes.get(i);
    }

    @Override
    public NodeAdminGrpc.NodeAdminBlockingStub adminStub(int i) {
        return NodeAdminGrpc.newBlockingStub(channels.get(i)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /** For calls that create groups on freshly started JVMs: seconds on a busy 2-core machine. */
    public NodeAdminGrpc.NodeAdminBlockingStub slowAdmin(int i) {
        return NodeAdminGrpc.newBlockingStub(channels.get(i)).withDeadlineAfter(90, TimeUnit.SECONDS);
    }

    /** Creates a volume with a replica on every node (through node 0) and attaches it on {@code frontend}. */
    public String createAndAttach(String volume, long bytes, int frontend) {
        CreateVolumeRequest.Builder create = CreateVolumeRequest.newBuilder().setName(volume).setSizeBytes(bytes);
        for (int i = 0; i < size(); i++) {
            create.addPeers(Peer.newBuilder().setNodeId(id(i)).setRaftAddress(lab.host(i).address() + ":" + RAFT_PORT));
        }
        slowAdmin(0).createVolume(create.build());
        return attach(volume, frontend);
    }

    public String attach(String volume, int frontend) {
        return slowAdmin(frontend).attachVolume(AttachVolumeRequest.newBuilder().setName(volume).build()).getNbdUri();
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        forwards.forEach(HostPortForward::close);
        nodes.forEach(BallastNodeProcess::close);
        lab.close();
    }
}
