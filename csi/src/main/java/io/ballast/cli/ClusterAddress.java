package io.ballast.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Where the CLI reaches a cluster: admin addresses of one or more of its nodes (any node answers
 * for the whole cluster), from {@code --cluster HOST:PORT[,...]}, else the environment variable
 * {@code BALLAST_CLUSTER}, else the file {@code ballast-dev/cluster} that {@code ballast dev up}
 * writes in the directory it runs from. {@code source} says which, for error messages.
 */
record ClusterAddress(List<String> addresses, String source) {
    static final String ENV = "BALLAST_CLUSTER";
    static final Path DEV_FILE = Path.of("ballast-dev", "cluster");

    /** Resolves the address from the flag (may be null), the environment, then the dev file. */
    static ClusterAddress resolve(String flag) {
        if (flag != null && !flag.isBlank()) {
            return of(flag, "--cluster");
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return of(env, ENV);
        }
        if (Files.isRegularFile(DEV_FILE)) {
            try {
                return of(Files.readString(DEV_FILE).strip(), DEV_FILE.toAbsolutePath().toString());
            } catch (IOException e) {
                throw new CliFailure(CliFailure.UNREACHABLE, "cannot read " + DEV_FILE.toAbsolutePath() + ": " + e.getMessage());
            }
        }
        throw new CliFailure(CliFailure.UNREACHABLE, "no cluster address: pass --cluster HOST:PORT[,...] (a node's admin "
                + "address), set " + ENV + ", or run from the directory where `ballast dev up` runs (it writes " + DEV_FILE + ")");
    }

    static ClusterAddress of(String commaSeparated, String source) {
        List<String> list = Arrays.stream(commaSeparated.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        for (String a : list) {
            int colon = a.lastIndexOf(':');
            if (colon <= 0 || colon == a.length() - 1 || !a.substring(colon + 1).chars().allMatch(Character::isDigit)) {
                throw new CliFailure(CliFailure.UNREACHABLE, "'" + a + "' from " + source + " is not HOST:PORT");
            }
        }
        if (list.isEmpty()) {
            throw new CliFailure(CliFailure.UNREACHABLE, source + " names no address");
        }
        return new ClusterAddress(list, source);
    }
}
