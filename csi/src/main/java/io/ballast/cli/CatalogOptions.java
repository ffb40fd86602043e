package io.ballast.cli;

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
