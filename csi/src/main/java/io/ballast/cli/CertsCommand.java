package io.ballast.cli;

import io.ballast.csi.identity.BallastVersion;
import io.ballast.replication.tls.CertificateRole;
import io.ballast.replication.tls.ClusterCa;
import io.ballast.replication.tls.TlsDir;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ballast certs}: a cluster's own CA and the certificates of its nodes, controller and CLI. */
@Command(name = "certs", mixinStandardHelpOptions = true, versionProvider = BallastVersion.class,
        description = {"Make the certificates for mutual TLS without cert-manager: a CA for the cluster, then one",
            "certificate per node, for the controller and for the CLI, each in a directory of tls.crt, tls.key",
            "and ca.crt (the layout of a cert-manager Secret) for --tls-dir / $BALLAST_TLS_DIR.",
            "Example:",
            "  ballast certs ca --out ca --cluster-id prod",
            "  ballast certs issue --ca ca --name n1 --ip 10.0.0.11 --out n1",
            "  ballast certs issue --ca ca --name cli --out cli"},
        subcommands = {CertsCommand.Ca.class, CertsCommand.Issue.class})
public final class CertsCommand {

    @Command(name = "ca", mixinStandardHelpOptions = true, description = "Create the cluster's CA: OUT/ca.crt and OUT/ca.key (keep this one secret).")
    static final class Ca implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write ca.crt and ca.key.") Path out;
        @Option(names = "--cluster-id", defaultValue = "ballast", paramLabel = "ID",
                description = "The cluster's id, written into every certificate (default: ${DEFAULT-VALUE}).") String clusterId;
        @Option(names = "--days", defaultValue = "3650", paramLabel = "N", description = "Validity (default: ${DEFAULT-VALUE}).") int days;

        @Override
        public Integer call() {
            ClusterCa.create(out, clusterId, validity(spec, days));
            spec.commandLine().getOut().println("CA for cluster " + clusterId + " in " + out.toAbsolutePath() + " ("
                    + TlsDir.CA + ", " + ClusterCa.CA_KEY + ")");
            return 0;
        }
    }

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = "Issue a certificate: OUT/tls.crt, OUT/tls.key and OUT/ca.crt, for both ends of mutual TLS.")
    static final class Issue implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The CA's directory: ca.crt and ca.key ('ballast certs ca'), or tls.crt and tls.key (the "
                + "controller's ballast-ca Secret, extracted).") Path ca;
        @Option(names = "--name", required = true, paramLabel = "NAME",
                description = "Whose certificate: a node id (exactly its --node-id: a node's Raft requests are accepted only "
                        + "in the name its certificate gives), 'controller' or 'cli'.") String name;
        @Option(names = "--ip", paramLabel = "IP", description = "An address peers dial it at (raft, admin). Repeatable.")
        List<String> ips = new ArrayList<>();
        @Option(names = "--dns", paramLabel = "NAME", description = "A DNS name peers dial it at. Repeatable.")
        List<String> dns = new ArrayList<>();
        @Option(names = "--cluster-id", paramLabel = "ID",
                description = "The cluster the certificate is for (default: the CA's). One CA may sign for several clusters; "
                        + "each accepts only its own.") String clusterId;
        @Option(names = "--role", paramLabel = "node|operator",
                description = "node: a storage node, served once the catalog admitted it; operator: may admit and revoke nodes "
                        + "(default: operator for the names cli and controller, node otherwise).") String role;
        @Option(names = "--days", defaultValue = "825", paramLabel = "N", description = "Validity (default: ${DEFAULT-VALUE}).") int days;
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write the files.") Path out;

        @Override
        public Integer call() {
            ClusterCa authority = ClusterCa.load(ca);
            CertificateRole r = role == null ? CertificateRole.defaultFor(name) : switch (role) {
                case "node" -> CertificateRole.NODE;
                case "operator" -> CertificateRole.OPERATOR;
                default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--role " + role + ": it is node or operator");
            };
            TlsDir d = authority.issue(name, clusterId == null ? authority.clusterId() : clusterId, r, ips, dns,
                    validity(spec, days), out);
            spec.commandLine().getOut().println("certificate for " + name + " in " + d.dir() + " (" + TlsDir.CERT + ", "
                    + TlsDir.KEY + ", " + TlsDir.CA + ")" + (ips.isEmpty() && dns.isEmpty()
                    ? "; no --ip or --dns: good for a client (cli, controller), not for a node others dial" : ""));
            return 0;
        }
    }

    private static Duration validity(CommandSpec spec, int days) {
        if (days < 1) {
            throw new ParameterException(spec.commandLine(), "--days must be at least 1, got " + days);
        }
        return Duration.ofDays(days);
    }
}
