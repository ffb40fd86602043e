package io.ballast.cli;

import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.NodeDrain;
import io.ballast.proto.v1.SetNodeDrainRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ballast node drain / undrain}: a node's maintenance mode, through any node of the
 * cluster. Drain waits, printing progress, until the node leads no group (and, with --evacuate,
 * holds no replica), so that a script can reboot the node when it returns.
 */
final class DrainCommands {
    private static final long CALL_SECONDS = 30;

    private DrainCommands() {
    }

    @Command(name = "drain", mixinStandardHelpOptions = true, description = {
        "Put a node into maintenance: the leaderships of its volume groups move to",
        "other replicas and no new replica is placed on it. With --evacuate, every",
        "replica on it is first re-created on another node, then removed (a volume",
        "never has fewer replicas than it should); refused, changing nothing, when",
        "some volume has nowhere to go. Waits until done, printing progress",
        "(--no-wait returns at once). Undo with 'ballast node undrain NODE'.",
        "Example: ballast node drain n2 --evacuate --cluster 127.0.0.1:7001"})
    static final class Drain implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NODE", description = "The node id to drain.") String node;
        @Option(names = "--evacuate", description = "Also move every replica off the node.") boolean evacuate;
        @Option(names = "--no-wait", description = "Return once the catalog records the drain.") boolean noWait;
        @Option(names = "--timeout", defaultValue = "30m", paramLabel = "DURATION",
                description = "Give up waiting after this long (default: ${DEFAULT-VALUE}); the drain goes on.")
        String timeout;
        @Option(names = "--cluster", paramLabel = "HOST:PORT[,...]",
                description = "Admin address(es) of any of the cluster's nodes; else $BALLAST_CLUSTER or ./ballast-dev/cluster.")
        String cluster;

        @Override
        public Integer call() throws InterruptedException {
            Duration limit = parseTimeout(spec, timeout);
            String address = ClusterConnection.open(ClusterAddress.resolve(cluster)).answeredAt();
            NodeDrain mode = evacuate ? NodeDrain.NODE_DRAIN_EVACUATE : NodeDrain.NODE_DRAIN_LEADERS;
            PrintWriter out = spec.commandLine().getOut();
            boolean changed = set(address, node, mode);
            out.println("node " + node + ": " + (changed ? "drained" : "already drained") + (evacuate
                    ? " (leaderships move off, every replica is re-created elsewhere, then removed)"
                    : " (leaderships move off; no new replica goes there)"));
            out.flush();
            if (noWait) {
                out.println("not waiting (--no-wait): 'ballast status' shows what node " + node + " still leads"
                        + (evacuate ? " and holds" : ""));
                out.flush();
                return 0;
            }
            long deadline = System.nanoTime() + limit.toNanos();
            String last = "";
            while (true) {
                Progress p = progress(ClusterConnection.open(ClusterAddress.of(address, "the node that answered")).state()
                        .getState(), node);
                String line = p.describe(evacuate);
                if (!line.equals(last)) {
                    out.println("  " + line);
                    out.flush();
                    last = line;
                }
                if (p.leading() == 0 && (!evacuate || p.replicas().isEmpty())) {
                    out.println("node " + node + " is drained" + (evacuate ? " and empty" : "") + "; undo with 'ballast node undrain "
                            + node + "'");
                    out.flush();
                    return 0;
                }
                if (System.nanoTime() > deadline) {
                    throw new CliFailure(1, "node " + node + " is not drained after " + timeout + " (" + line
                            + "); the drain goes on: watch 'ballast status'");
                }
                Thread.sleep(2000);
            }
        }
    }

    @Command(name = "undrain", mixinStandardHelpOptions = true, description = {
        "Take a node out of maintenance: new replicas may be placed on it again and",
        "it may lead groups again (nothing is moved back by itself).",
        "Example: ballast node undrain n2 --cluster 127.0.0.1:7001"})
    static final class Undrain implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NODE", description = "The node id.") String node;
        @Option(names = "--cluster", paramLabel = "HOST:PORT[,...]",
                description = "Admin address(es) of any of the cluster's nodes; else $BALLAST_CLUSTER or ./ballast-dev/cluster.")
        String cluster;

        @Override
        public Integer call() {
            String address = ClusterConnection.open(ClusterAddress.resolve(cluster)).answeredAt();
            boolean changed = set(address, node, NodeDrain.NODE_DRAIN_NONE);
            spec.commandLine().getOut().println("node " + node + ": " + (changed ? "back in service" : "was not drained"));
            return 0;
        }
    }

    /** What is left on a drained node, from its last heartbeat and the placements. */
    record Progress(int leading, List<String> replicas, List<String> waiting) {
        String describe(boolean evacuate) {
            String s = "leads " + leading + " group(s)";
            if (evacuate) {
                s += ", holds " + replicas.size() + " replica(s)" + (replicas.isEmpty() ? "" : " " + replicas);
                if (!waiting.isEmpty()) {
                    s += "; " + String.join("; ", waiting);
                }
            }
            return s;
        }
    }

    static Progress progress(CatalogState state, String nodeId) {
        int leading = state.getNodesList().stream().filter(n -> n.getNodeId().equals(nodeId))
                .mapToInt(CatalogNode::getLeadingCount).findFirst().orElse(0);
        List<CatalogVolume> on = state.getVolumesList().stream().filter(v -> v.getPlacementList().contains(nodeId)).toList();
        return new Progress(leading, on.stream().map(CatalogVolume::getName).toList(),
                on.stream().filter(v -> !v.getRepair().isEmpty()).map(v -> v.getName() + ": " + v.getRepair()).toList());
    }

    private static boolean set(String address, String node, NodeDrain mode) {
        ManagedChannel channel = CliTls.channel(address);
        try {
            return NodeAdminGrpc.newBlockingStub(channel).withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
                    .setNodeDrain(SetNodeDrainRequest.newBuilder().setNodeId(node).setDrain(mode).build()).getChanged();
        } catch (StatusRuntimeException e) {
            throw new CliFailure(1, "node " + node + " (asked " + address + "): " + ClusterConnection.describe(e));
        } finally {
            channel.shutdownNow();
        }
    }

    private static Duration parseTimeout(CommandSpec spec, String timeout) {
        try {
            return Durations.parse(timeout);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--timeout '" + timeout + "': " + e.getMessage());
        }
    }
}
