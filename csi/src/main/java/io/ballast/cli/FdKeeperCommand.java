package io.ballast.cli;

import io.ballast.csi.identity.BallastVersion;
import io.ballast.engine.keeper.FdKeeper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ballast fd-keeper}: the descriptor keeper as a process (container) of its own. */
@Command(name = "fd-keeper",
        mixinStandardHelpOptions = true,
        versionProvider = BallastVersion.class,
        description = {
            "Hold the FUSE connections of the volumes staged on this node.",
            "While it holds them, a restart of 'ballast node' leaves mounted filesystems waiting instead of failing.",
            "'ballast node' starts one itself when none answers on its --fd-keeper socket.",
            "In Kubernetes run it as a container of its own in the node pod",
            "(shared process namespace, CAP_SYS_PTRACE): it outlives restarts of the node container.",
            "",
            "Example:",
            "  ballast fd-keeper --socket /var/lib/ballast/run/fd-keeper.sock --idle-exit 0"})
public final class FdKeeperCommand implements Callable<Integer> {
    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "Unix socket to listen on (owner-only).")
    Path socket;

    @Option(names = "--idle-exit", defaultValue = "0", paramLabel = "SECONDS",
            description = "Exit after holding nothing this long; 0 = never (default: ${DEFAULT-VALUE}).")
    long idleExitSeconds;

    @Override
    public Integer call() {
        FdKeeper keeper = FdKeeper.bind(socket, Duration.ofSeconds(Math.max(0, idleExitSeconds)));
        Runtime.getRuntime().addShutdownHook(new Thread(keeper::close, "shutdown"));
        keeper.serve();
        return 0;
    }
}
