package io.ballast.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.ballast.csi.identity.BallastVersion;
import io.ballast.proto.v1.ClusterStatus;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ballast status}: nodes, volumes and rebuilds of the whole cluster, from its catalog. */
@Command(name = "status", mixinStandardHelpOptions = true, versionProvider = BallastVersion.class,
        description = {"Show the whole cluster: nodes (up/down, zone, free space), volumes (size, replicas, leader,",
            "attachment, condition) and running rebuilds, as the catalog knows them through any node.",
            "",
            "The cluster is found from --cluster, else $BALLAST_CLUSTER, else ./ballast-dev/cluster (written by",
            "`ballast dev up`). Exit codes: 0 shown, 1 the cluster answered with an error, 2 no node could be reached."})
final class StatusCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,...]",
            description = "Admin address(es) of any of the cluster's nodes; the first that answers is used.")
    String cluster;

    @Option(names = "--output", defaultValue = "table", paramLabel = "table|json",
            description = "table (default) for people, json for scripts.")
    String output;

    @Option(names = "--down-after", defaultValue = "10s", paramLabel = "DURATION",
            description = "A node whose last heartbeat is older than this shows as down (default: ${DEFAULT-VALUE}; "
                    + "heartbeats come every 2 s).")
    String downAfter;

    @Override
    public Integer call() throws InvalidProtocolBufferException {
        if (!output.equals("table") && !output.equals("json")) {
            throw new ParameterException(spec.commandLine(), "--output must be table or json, got '" + output + "'");
        }
        Duration down;
        try {
            down = Durations.parse(downAfter);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--down-after '" + downAfter + "': " + e.getMessage());
        }
        ClusterConnection c = ClusterConnection.open(ClusterAddress.resolve(cluster));
        ClusterStatus status = ClusterStatusView.of(c.state(), down);
        PrintWriter out = spec.commandLine().getOut();
        if (output.equals("json")) {
            out.println(JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(status));
            out.flush();
        } else {
            ClusterStatusView.printTable(status, out, System.console() != null);
        }
        return 0;
    }
}
