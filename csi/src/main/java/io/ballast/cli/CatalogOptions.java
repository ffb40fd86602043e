package io.ballast.cli;

import io.ballast.daemon.CatalogDiscovery;
import io.ballast.daemon.CatalogMemberSource;
import io.ballast.daemon.FileCatalogMembers;
import io.ballast.kubernetes.Kubernetes;
import io.ballast.kubernetes.KubernetesCatalogMembers;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The catalog members option shared by {@code ballast node} and {@code ballast controller}
 * (a picocli mixin): {@code --catalog n1=10.0.0.1:7101,n2=10.0.0.2:7101,n3=10.0.0.3:7101}.
 */
public final class CatalogOptions {
    @Option(names = "--catalog", split = ",", paramLabel = "NODE=HOST:PORT",
            description = "The cluster catalog's members: node ids and their raft addresses (--raft-listen), "
                    + "comma-separated or repeated; 3 or 5 for a real cluster. The same list on every node and the controller.")
    List<String> members = new ArrayList<>();

    @Option(names = "--catalog-from", paramLabel = "kubernetes|file:PATH",
            description = "Find the catalog's members instead of listing them: 'kubernetes' reads nodes labelled "
                    + KubernetesCatalogMembers.CATALOG_LABEL + ", else the --catalog-size oldest Ready nodes running the node "
                    + "plugin, from the Kubernetes API (in-cluster service account, or KUBECONFIG); 'file:PATH' reads "
                    + "NODE=HOST:PORT lines from PATH, anew each time. The catalog leader follows changes: a lost member is "
                    + "replaced.")
    String from;

    @Option(names = "--catalog-size", defaultValue = "3", paramLabel = "N",
            description = "With --catalog-from: how many nodes host the catalog when none is labelled (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--catalog-raft-port", defaultValue = "7101", paramLabel = "PORT",
            description = "With --catalog-from: the raft port every node plugin listens on (default: ${DEFAULT-VALUE}).")
    int raftPort;

    @Option(names = "--kubernetes-namespace", paramLabel = "NS",
            description = "With --catalog-from=kubernetes: the namespace of the node plugin pods (default: this pod's namespace, "
                    + "else ballast-system).")
    String namespace;

    @Option(names = "--kubernetes-node-selector", defaultValue = "app=ballast-node", paramLabel = "SELECTOR",
            description = "With --catalog-from=kubernetes: the label selector of the node plugin pods (default: ${DEFAULT-VALUE}).")
    String podSelector;

    /** True when the members are to be found rather than listed. */
    public boolean discovered() {
        return from != null;
    }

    /** The source named by --catalog-from (null without it); a usage error for a bad combination. */
    public CatalogMemberSource source(CommandSpec spec) {
        if (from == null) {
            return null;
        }
        if (!members.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--catalog and --catalog-from exclude each other: list the members, "
                    + "or let them be found");
        }
        if (from.startsWith("file:") && from.length() > 5) {
            return new FileCatalogMembers(java.nio.file.Path.of(from.substring(5)));
        }
        if (!from.equals("kubernetes")) {
            throw new ParameterException(spec.commandLine(), "--catalog-from '" + from + "': use kubernetes or file:PATH");
        }
        if (size < 1 || size % 2 == 0) {
            throw new ParameterException(spec.commandLine(), "--catalog-size " + size + ": use an odd number (1, 3 or 5)");
        }
        return new KubernetesCatalogMembers(Kubernetes.client(), namespace != null ? namespace : Kubernetes.podNamespace(),
                podSelector, size, raftPort);
    }

    /**
     * The members: listed (--catalog), or found through {@code source} (waits until it names some).
     */
    public Map<String, String> resolve(CommandSpec spec, CatalogMemberSource source) throws InterruptedException {
        return source == null ? members(spec) : CatalogDiscovery.await(source);
    }

    /** Node id -> raft address, in the given order; a malformed entry is a usage error naming it. */
    public Map<String, String> members(CommandSpec spec) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String m : members) {
            var peer = ReplicaCommands.parse(spec, "--catalog", m, true);
            if (out.put(peer.getNodeId(), peer.getRaftAddress()) != null) {
                throw new ParameterException(spec.commandLine(), "--catalog: node " + peer.getNodeId() + " is listed twice");
            }
        }
        return out;
    }

    /** Parses {@code KEY=VALUE} labels (topology, e.g. zone=a). */
    static Map<String, String> labels(CommandSpec spec, List<String> labels) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String l : labels) {
            int eq = l.indexOf('=');
            if (eq <= 0 || eq == l.length() - 1 || !l.substring(0, eq).matches("[a-zA-Z0-9][a-zA-Z0-9._/-]{0,62}")) {
                throw new ParameterException(spec.commandLine(), "--label '" + l + "': expected KEY=VALUE, e.g. zone=a");
            }
            out.put(l.substring(0, eq), l.substring(eq + 1));
        }
        return out;
    }
}
