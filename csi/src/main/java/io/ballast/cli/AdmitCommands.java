package io.ballast.cli;

import io.ballast.proto.v1.AdmitNodeRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ballast node admit / revoke}: a node's admission to the cluster, recorded in the catalog
 * through any node. Only an admitted node registers, is placed on, and is served by the other
 * nodes; the catalog's members are admitted by its leader, and in Kubernetes the nodes that run
 * the node plugin. Takes an operator's certificate (the CLI's).
 */
final class AdmitCommands {
    private static final long CALL_SECONDS = 30;

    private AdmitCommands() {
    }

    @Command(name = "admit", mixinStandardHelpOptions = true, description = {
        "Admit nodes to the cluster: from then on each registers with the catalog (and so",
        "may be placed on) and the other nodes serve its calls. The catalog's own members",
        "are admitted by it, and in Kubernetes every node running the node plugin is.",
        "Example: ballast node admit n4 --cluster 127.0.0.1:7001"})
    static final class Admit implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "NODE", description = "The node ids to admit (their certificates' names).")
        List<String> nodes;
        @Option(names = "--cluster", paramLabel = "HOST:PORT[,...]",
                description = "Admin address(es) of any of the cluster's nodes; else $BALLAST_CLUSTER or ./ballast-dev/cluster.")
        String cluster;

        @Override
        public Integer call() {
            return send(spec, cluster, nodes, false);
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = {
        "Revoke nodes' admission: their record leaves the catalog and the other nodes stop",
        "serving their calls. Refused while a volume is placed or attached on a node (move its",
        "replicas with 'ballast node drain NODE --evacuate' first) and for the catalog's members.",
        "Example: ballast node revoke n4 --cluster 127.0.0.1:7001"})
    static final class Revoke implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "NODE", description = "The node ids to revoke.") List<String> nodes;
        @Option(names = "--cluster", paramLabel = "HOST:PORT[,...]",
                description = "Admin address(es) of any of the cluster's nodes; else $BALLAST_CLUSTER or ./ballast-dev/cluster.")
        String cluster;

        @Override
        public Integer call() {
            return send(spec, cluster, nodes, true);
        }
    }

    private static int send(CommandSpec spec, String cluster, List<String> nodes, boolean revoke) {
        String address = ClusterConnection.open(ClusterAddress.resolve(cluster)).answeredAt();
        ManagedChannel channel = CliTls.channel(address);
        try {
            var stub = NodeAdminGrpc.newBlockingStub(channel);
            for (String node : nodes) {
                try {
                    boolean existed = stub.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).admitNode(AdmitNodeRequest.newBuilder()
                            .setNodeId(node).setRevoke(revoke).build()).getExisted();
                    spec.commandLine().getOut().println("node " + node + ": " + (revoke
                            ? existed ? "was not admitted" : "revoked"
                            : existed ? "already admitted" : "admitted"));
                } catch (StatusRuntimeException e) {
                    throw new CliFailure(1, "node " + node + " (asked " + address + "): " + ClusterConnection.describe(e));
                }
            }
            spec.commandLine().getOut().flush();
            return 0;
        } finally {
            channel.shutdownNow();
        }
    }
}
