package io.ballast.tests.harness;

import static io.ballast.replication.testing.Await.await;

import io.ballast.proto.csi.v1.ProbeRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code ballast controller} process serving CSI on a unix socket for a {@link ReplicatedCluster}
 * (its catalog on the cluster's first three nodes), with a CSI client on that socket. Started
 * once the controller answers Probe ready and every node of the cluster has registered in the
 * catalog, so a test begins with the whole cluster placeable.
 */
public final class ControllerProcess implements AutoCloseable {
    private final BallastNodeProcess process;
    private final CsiClient csi;

    private ControllerProcess(BallastNodeProcess process, CsiClient csi) {
        this.process = process;
        this.csi = csi;
    }

    /** Starts it in {@code dir}/controller; {@code extraArgs}: more controller flags (e.g. "--repair-interval", "1s"). */
    public static ControllerProcess start(ReplicatedCluster cluster, Path dir, String... extraArgs) {
        Path socket = dir.resolve("csi.sock");
        List<String> args = new ArrayList<>(List.of("--cluster-id", ReplicatedCluster.CLUSTER_ID,
                "--catalog", cluster.catalogArg(3), "--csi-endpoint", "unix://" + socket));
        args.addAll(List.of(extraArgs));
        BallastNodeProcess process = BallastNodeProcess.controller("controller", dir, args).start();
        CsiClient csi = new CsiClient(socket);
        ControllerProcess c = new ControllerProcess(process, csi);
        try {
            await(() -> csi.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue(), 60, "controller ready");
            await(() -> cluster.catalogState().getNodesCount() == cluster.size(), 60,
                    "all " + cluster.size() + " nodes registered in the catalog");
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** The CSI client on the controller's socket. */
    public CsiClient csi() {
        return csi;
    }

    public BallastNodeProcess process() {
        return process;
    }

    @Override
    public void close() {
        csi.close();
        process.close();
    }
}
