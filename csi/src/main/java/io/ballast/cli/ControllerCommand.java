package io.ballast.cli;

import io.ballast.csi.identity.BallastVersion;
import io.ballast.daemon.ControllerRuntime;
import io.ballast.kubernetes.ControllerTls;
import io.ballast.kubernetes.Kubernetes;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ballast controller}: the CSI Identity + Controller services over the cluster catalog. */
@Command(name = "controller",
        mixinStandardHelpOptions = true,
        versionProvider = BallastVersion.class,
        description = {
            "Run the CSI controller: Identity and Controller services on a unix socket, backed by the cluster catalog,",
            "and the repair loop that re-places the replicas of nodes that stay down.",
            "",
            "Example:",
            "  ballast controller --cluster-id prod --catalog n1=10.0.0.1:7101,n2=10.0.0.2:7101,n3=10.0.0.3:7101 \\",
            "      --csi-endpoint unix:///csi/csi.sock"})
public final class ControllerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--cluster-id", required = true, paramLabel = "ID",
            description = "The cluster whose catalog to use (the nodes' --cluster-id).")
    String clusterId;

    @Mixin
    CatalogOptions catalog = new CatalogOptions();

    @Option(names = "--csi-endpoint", required = true, paramLabel = "unix:///PATH",
            description = "Unix socket to serve CSI on, as the sidecars expect (e.g. unix:///csi/csi.sock).")
    String csiEndpoint;

    @Option(names = "--down-after", defaultValue = "30s", paramLabel = "DURATION",
            description = "A node whose heartbeat is older is reported down (volume condition abnormal). Default: ${DEFAULT-VALUE}.")
    String downAfter;

    @Option(names = "--repair-after", defaultValue = "5m", paramLabel = "DURATION",
            description = "Replicas of a node down this long are re-placed on other nodes and rebuilt. Default: ${DEFAULT-VALUE}.")
    String repairAfter;

    @Option(names = "--tls-dir", paramLabel = "DIR",
            description = "Mutual TLS to the catalog and the nodes' admin APIs with the cluster's certificates in DIR "
                    + "(tls.crt, tls.key, ca.crt); without it, plaintext (a warning says so).")
    java.nio.file.Path tlsDir;

    @Option(names = "--tls-from", paramLabel = "kubernetes",
            description = "In Kubernetes: take the cluster's CA from Secret --ca-secret (made at first start if missing), "
                    + "issue this controller's certificate into --tls-dir, and sign the node plugins' certificate signing "
                    + "requests (signer ballast.csi.io/node).")
    String tlsFrom;

    @Option(names = "--ca-secret", defaultValue = "ballast-ca", paramLabel = "NAME",
            description = "With --tls-from=kubernetes: the Secret in this pod's namespace holding the CA (tls.crt, tls.key; "
                    + "cert-manager's layout). Default: ${DEFAULT-VALUE}.")
    String caSecret;

    @Option(names = "--node-certificate-validity", defaultValue = "720h", paramLabel = "DURATION",
            description = "With --tls-from=kubernetes: how long a node certificate is valid; nodes renew theirs when a third "
                    + "is left. Default: ${DEFAULT-VALUE}.")
    String nodeCertificateValidity;

    @Option(names = "--node-service-account", defaultValue = "ballast-node", paramLabel = "NAME",
            description = "With --tls-from=kubernetes: the service account (in this pod's namespace) of the node plugin; "
                    + "only its certificate signing requests are signed. Default: ${DEFAULT-VALUE}.")
    String nodeServiceAccount;

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics (/metrics) on this address: CSI calls by method and code, nodes, volume conditions, repairs, JVM.")
    String metricsListen;

    @Option(names = "--repair-interval", defaultValue = "10s", paramLabel = "DURATION",
            description = "How often the repair loop looks at the catalog. Default: ${DEFAULT-VALUE}.")
    String repairInterval;

    @Override
    public Integer call() throws Exception {
        if (!catalog.discovered() && catalog.members.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--catalog (the catalog members' ids and raft addresses) "
                    + "or --catalog-from is required");
        }
        Map<String, String> members;
        try (var source = catalog.source(spec)) {
            // The controller only needs somewhere to start: its Ratis client follows the leader's
            // answers as the members change.
            members = catalog.resolve(spec, source);
        }
        Duration down = Durations.option(spec, "--down-after", downAfter);
        Duration repair = Durations.option(spec, "--repair-after", repairAfter);
        Duration every = Durations.option(spec, "--repair-interval", repairInterval);
        if (repair.compareTo(down) < 0) {
            throw new ParameterException(spec.commandLine(), "--repair-after (" + repairAfter
                    + ") must not be shorter than --down-after (" + downAfter + ")");
        }
        ControllerTls kubernetesTls = kubernetesTls();
        ControllerRuntime runtime = ControllerRuntime.start(new ControllerRuntime.Config(clusterId, members, csiEndpoint,
                down, repair, every, NodeCommand.address(spec, "--metrics-listen", metricsListen),
                tlsDir == null ? null : tlsDir.toAbsolutePath()));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            runtime.close();
            if (kubernetesTls != null) {
                kubernetesTls.close();
            }
            stopped.countDown();
        }, "shutdown"));
        spec.commandLine().getOut().println("ballast controller ready: cluster " + clusterId + ", catalog " + members.keySet()
                + ", csi " + runtime.socket());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }

    /** With --tls-from=kubernetes: the CA, this controller's certificate and the node signer; else null. */
    private ControllerTls kubernetesTls() {
        if (tlsFrom == null) {
            return null;
        }
        if (!tlsFrom.equals("kubernetes")) {
            throw new ParameterException(spec.commandLine(), "--tls-from '" + tlsFrom + "': the only source is 'kubernetes'");
        }
        if (tlsDir == null) {
            throw new ParameterException(spec.commandLine(), "--tls-from=kubernetes needs --tls-dir: where the controller's own "
                    + "certificate is written (a writable directory, e.g. an emptyDir)");
        }
        Duration validity = Durations.option(spec, "--node-certificate-validity", nodeCertificateValidity);
        return ControllerTls.start(Kubernetes.client(), Kubernetes.podNamespace(), caSecret, clusterId, tlsDir.toAbsolutePath(),
                nodeServiceAccount, validity);
    }

}
